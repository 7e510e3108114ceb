import type { Db } from '../db/client';
import { type Template, TemplateSchema } from '../domain/templates';
import type { MessageTemplate } from '../generated/prisma/client';
import type { Logger } from '../logger';

/** A stored template as the domain sees it; null when it no longer passes the rules (they grew stricter). */
export function templateFromRow(row: MessageTemplate): Template | null {
  const parsed = TemplateSchema.safeParse({
    key: row.key, locale: row.locale, channel: row.channel, purpose: row.purpose,
    subject: row.subject ?? undefined, body: row.body, html: row.html ?? undefined, variables: row.variables,
  });
  return parsed.success ? parsed.data : null;
}

/**
 * A store's own templates. Each was validated when saved; one that no longer passes is left out,
 * so the built-in template is used instead of a send failing.
 */
export async function loadStoreTemplates(db: Db, storeId: string, logger: Pick<Logger, 'warn'>): Promise<Template[]> {
  const rows = await db.messageTemplate.findMany({ where: { storeId } });
  return rows.flatMap((row) => {
    const template = templateFromRow(row);
    if (!template) logger.warn({ templateId: row.id, storeId }, 'stored template is invalid: using the built-in one');
    return template ? [template] : [];
  });
}
