import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ChannelSchema, PurposeSchema } from '../../domain/consent';
import { smsSegments } from '../../domain/sms-segments';
import { safeNote, safeText } from '../../domain/text';
import {
  DEFAULT_TEMPLATES, LocaleSchema, renderTemplate, type Template, TEMPLATE_VARIABLE_SAMPLES, TemplateProblem,
  TemplateSchema, TemplateVariableMissingError, unsupportedVariableProblems, validateTemplate,
} from '../../domain/templates';
import { templateFromRow } from '../../messaging/template-store';
import { auditActorOf, recordAudit } from '../../services/audit';
import { actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { HttpError, notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

const TemplateParams = z.object({
  storeId: StoreIdSchema,
  key: z.string().max(64).regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected kebab-case, e.g. delivery-thank-you'),
  locale: LocaleSchema,
  channel: ChannelSchema,
});

const TemplateInputSchema = z.strictObject({
  purpose: PurposeSchema,
  subject: safeText(200).optional(),
  body: safeNote(20_000),
  html: safeNote(100_000).optional(),
  variables: z.array(z.string().max(64)).max(20),
  /** Values to render the sample with instead of the built-in samples, e.g. a long store name. */
  sample: z.record(z.string().max(64), z.string().max(500)).optional(),
});

const ProblemSchema = z.object({ field: z.string(), message: z.string() });

const TemplateViewSchema = z.object({
  storeId: z.string(),
  key: z.string(),
  locale: LocaleSchema,
  channel: ChannelSchema,
  purpose: PurposeSchema,
  subject: z.string().nullable(),
  body: z.string(),
  html: z.string().nullable(),
  variables: z.array(z.string()),
  /** "store": the store's own; "built-in": the default, used until the store saves its own. */
  source: z.enum(['store', 'built-in']),
  version: z.number().nullable(),
  updatedAt: z.string().nullable(),
  /** The template rendered with sample values, as a customer would get it (opt-out hint included). */
  sample: z.object({
    subject: z.string().nullable(),
    body: z.string(),
    /** SMS only: what the carrier bills. */
    sms: z.object({ characters: z.number(), encoding: z.enum(['GSM-7', 'UCS-2']), segments: z.number() }).nullable(),
  }),
  warnings: z.array(ProblemSchema),
});
type TemplateView = z.infer<typeof TemplateViewSchema>;

function validationError(problems: TemplateProblem[]): HttpError {
  return new HttpError(400, 'ValidationError', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

function renderSample(template: Template, overrides: Readonly<Record<string, string>> = {}): TemplateView['sample'] {
  try {
    const rendered = renderTemplate(template, { ...TEMPLATE_VARIABLE_SAMPLES[template.locale], ...overrides });
    return { subject: rendered.subject ?? null, body: rendered.body, sms: template.channel === 'sms' ? smsSegments(rendered.body) : null };
  } catch (err) {
    if (err instanceof TemplateVariableMissingError) {
      throw validationError(err.missing.map((name) => ({ field: `sample.${name}`, message: 'a sample value must not be blank' })));
    }
    throw err;
  }
}

function viewOf(
  storeId: string,
  template: Template,
  meta: { source: TemplateView['source']; version: number | null; updatedAt: Date | null },
  sample: TemplateView['sample'] = renderSample(template),
): TemplateView {
  return {
    storeId, key: template.key, locale: template.locale, channel: template.channel, purpose: template.purpose,
    subject: template.subject ?? null, body: template.body, html: template.html ?? null, variables: template.variables,
    ...meta, updatedAt: meta.updatedAt?.toISOString() ?? null, sample, warnings: validateTemplate(template).warnings,
  };
}

/** Message templates per store, locale and channel; the built-in ones apply until a store saves its own. */
export const templateRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  app.get('/v1/stores/:storeId/templates', {
    schema: {
      tags: ['templates'], summary: 'The templates the store\'s messages use: its own, and the built-in ones it has not replaced',
      params: StoreParamsSchema,
      response: { 200: z.array(TemplateViewSchema), 404: ErrorBodySchema },
    },
  }, async (req) => {
    const { storeId } = req.params;
    assertStoreAccess(actorOf(req), storeId);
    if (!(await db.store.findUnique({ where: { id: storeId } }))) throw notFound(`store ${storeId}`);
    const rows = await db.messageTemplate.findMany({ where: { storeId } });
    const own = rows.flatMap((row) => {
      const template = templateFromRow(row);
      return template ? [viewOf(storeId, template, { source: 'store', version: row.version, updatedAt: row.updatedAt })] : [];
    });
    const replaced = new Set(own.map((t) => `${t.key}/${t.locale}/${t.channel}`));
    const builtIn = DEFAULT_TEMPLATES
      .filter((t) => !replaced.has(`${t.key}/${t.locale}/${t.channel}`))
      .map((t) => viewOf(storeId, t, { source: 'built-in', version: null, updatedAt: null }));
    return [...own, ...builtIn].sort((a, b) => `${a.key}/${a.channel}/${a.locale}`.localeCompare(`${b.key}/${b.channel}/${b.locale}`));
  });

  app.put('/v1/stores/:storeId/templates/:key/:locale/:channel', {
    schema: {
      tags: ['templates'],
      summary: 'Save the store\'s template (admin key, sales or general manager). Every placeholder must be a declared variable the system provides; the answer shows the rendered sample with its SMS length, encoding and segments',
      params: TemplateParams, body: TemplateInputSchema,
      response: { 200: TemplateViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const { storeId, key, locale, channel } = req.params;
    assertCan(actor, 'template.edit', storeId);
    if (!(await db.store.findUnique({ where: { id: storeId } }))) throw notFound(`store ${storeId}`);
    const { sample: sampleValues, ...fields } = req.body;
    const candidate = { key, locale, channel, ...fields };
    const problems = [...validateTemplate(candidate).errors, ...unsupportedVariableProblems(fields.variables)];
    if (problems.length > 0) throw validationError(problems);
    const template = TemplateSchema.parse(candidate);
    const sample = renderSample(template, sampleValues);

    const data = { purpose: template.purpose, subject: template.subject ?? null, body: template.body, html: template.html ?? null, variables: template.variables };
    const row = await db.$transaction(async (tx) => {
      const where = { storeId_key_locale_channel: { storeId, key, locale, channel } };
      const before = await tx.messageTemplate.findUnique({ where });
      const saved = await tx.messageTemplate.upsert({ where, update: { ...data, version: { increment: 1 } }, create: { storeId, key, locale, channel, ...data } });
      await recordAudit(tx, {
        actor: auditActorOf(actor), action: 'template.save', entity: 'template', entityId: saved.id, storeId,
        before: before && { key, locale, channel, version: before.version, purpose: before.purpose, subject: before.subject, body: before.body, html: before.html, variables: before.variables },
        after: { key, locale, channel, version: saved.version, ...data },
      });
      return saved;
    });
    req.log.info({ storeId, key, locale, channel, version: row.version }, 'template saved');
    return viewOf(storeId, template, { source: 'store', version: row.version, updatedAt: row.updatedAt }, sample);
  });
};
