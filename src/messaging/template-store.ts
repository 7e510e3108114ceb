import { type Template, TemplateSchema } from '../domain/templates';
import type { MessageTemplate } from '../generated/prisma/client';
import type { Logger } from '../logger';

/** A stored template as the domain sees it; null when it no longer passes the rules (they grew stricter). */
export function templateFromRow(row: Omit<TemplateRow, 'id' | 'version'>): Template | null {
  const parsed = TemplateSchema.safeParse({
    key: row.key, locale: row.locale, channel: row.channel, purpose: row.purpose,
    subject: row.subject ?? undefined, body: row.body, html: row.html ?? undefined, variables: row.variables,
  });
  return parsed.success ? parsed.data : null;
}

/** What the domain reads of a template row: a MessageTemplate, or the same row read as JSON. */
export type TemplateRow = Pick<MessageTemplate, 'id' | 'key' | 'locale' | 'channel' | 'purpose' | 'subject' | 'body' | 'html' | 'variables' | 'version'>;

/**
 * Rows already checked, by ID and version: every edit of a template bumps its version, so a
 * version remembered is never stale, and a send does not check the same row again and again.
 */
const checkedVersions = new Map<string, Template | null>();
const MAX_REMEMBERED_VERSIONS = 10_000;

/**
 * A store's own templates from their rows. Each was validated when saved; one that no longer
 * passes is left out, so the built-in template is used instead of a send failing.
 */
export function storeTemplates(rows: readonly TemplateRow[], storeId: string, logger: Pick<Logger, 'warn'>): Template[] {
  return rows.flatMap((row) => {
    const version = `${row.id}@${row.version}`;
    let template = checkedVersions.get(version);
    if (template === undefined) {
      template = templateFromRow(row);
      if (checkedVersions.size >= MAX_REMEMBERED_VERSIONS) checkedVersions.clear();
      checkedVersions.set(version, template);
    }
    if (!template) logger.warn({ templateId: row.id, storeId }, 'stored template is invalid: using the built-in one');
    return template ? [template] : [];
  });
}
