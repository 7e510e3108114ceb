import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isValidTimeZone } from '../../domain/contact-window';
import { KPI_KEYS, KPI_LABELS } from '../../domain/kpi';
import { auditActorOf, recordAudit } from '../../services/audit';
import { syncDigestSchedule } from '../../services/digest-schedules';
import { actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import type { ApiDeps } from '../server';

const SettingsSchema = z.object({
  timeZone: z.string().describe('IANA time zone of the store'),
  digestHour: z.number().int().describe('the local hour (0-23) the daily digest goes to the managers'),
  paused: z.boolean().describe('a paused store gets no digest, alerts or reclaims'),
  reclaimAfterDays: z.number().int().describe('days without contact, while a call was due, before a customer goes to another consultant'),
});
const SettingsInputSchema = z.strictObject({
  timeZone: z.string().max(64).refine(isValidTimeZone, 'must be an IANA time zone such as Asia/Shanghai').optional(),
  digestHour: z.number().int().min(0).max(23).optional(),
  paused: z.boolean().optional(),
  reclaimAfterDays: z.number().int().min(1).max(365).optional(),
});
const settingsOf = (s: z.infer<typeof SettingsSchema>) => ({ timeZone: s.timeZone, digestHour: s.digestHour, paused: s.paused, reclaimAfterDays: s.reclaimAfterDays });

const ThresholdSchema = z.object({ kpi: z.enum(KPI_KEYS), label: z.object({ zh: z.string(), en: z.string() }), minimum: z.number() });
const ThresholdParams = StoreParamsSchema.extend({ kpi: z.enum(KPI_KEYS) });

/**
 * A store's manager settings: its digest hour and time zone (its Schedule follows), pause, reclaim
 * period, and the KPI thresholds below which the managers are alerted once a month (seed 002).
 * Every change is in the audit log.
 */
export const storeSettingsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  async function storeOf(storeId: string) {
    const store = await db.store.findUnique({ where: { id: storeId } });
    if (!store) throw notFound(`store ${storeId}`);
    return store;
  }

  app.get('/v1/stores/:storeId/settings', {
    schema: { tags: ['stores'], summary: 'The store\'s digest hour, time zone, pause and reclaim period', params: StoreParamsSchema, response: { 200: SettingsSchema, 404: ErrorBodySchema } },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    return settingsOf(await storeOf(req.params.storeId));
  });

  app.patch('/v1/stores/:storeId/settings', {
    schema: {
      tags: ['stores'], summary: 'Change the store\'s digest hour, time zone, pause or reclaim period; the digest schedule follows',
      params: StoreParamsSchema, body: SettingsInputSchema, response: { 200: SettingsSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    assertCan(actor, 'store.settings', req.params.storeId);
    if (Object.keys(req.body).length === 0) throw badRequest('body', 'name at least one setting to change');
    const store = await db.$transaction(async (tx) => {
      const [before] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM "Store" WHERE id = ${req.params.storeId} FOR UPDATE`;
      if (!before) throw notFound(`store ${req.params.storeId}`);
      const previous = await tx.store.findUniqueOrThrow({ where: { id: before.id } });
      const updated = await tx.store.update({ where: { id: before.id }, data: req.body });
      await recordAudit(tx, { actor: auditActorOf(actor), action: 'store.update', entity: 'store', entityId: updated.id, storeId: updated.id, before: settingsOf(previous), after: settingsOf(updated) });
      return updated;
    });
    // After the commit: a failure answers 503, and the same request again syncs it (it is idempotent).
    await syncDigestSchedule(temporal, config.TEMPORAL_TASK_QUEUE, store);
    return settingsOf(store);
  });

  app.get('/v1/stores/:storeId/kpi-thresholds', {
    schema: { tags: ['stores'], summary: 'The KPI floors below which the store\'s managers are alerted (once a month)', params: StoreParamsSchema, response: { 200: z.array(ThresholdSchema), 404: ErrorBodySchema } },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    await storeOf(req.params.storeId);
    const rows = await db.kpiThreshold.findMany({ where: { storeId: req.params.storeId }, orderBy: { kpi: 'asc' } });
    return rows.map((r) => ({ kpi: r.kpi as (typeof KPI_KEYS)[number], label: KPI_LABELS[r.kpi as (typeof KPI_KEYS)[number]], minimum: r.minimum }));
  });

  app.put('/v1/stores/:storeId/kpi-thresholds/:kpi', {
    schema: {
      tags: ['stores'], summary: 'Set a KPI\'s floor: a rate in percent (NPS: the score, -100 to 100); checked each morning with the digest',
      params: ThresholdParams, body: z.strictObject({ minimum: z.number().min(-100).max(100) }),
      response: { 200: ThresholdSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const { storeId, kpi } = req.params;
    assertCan(actor, 'store.settings', storeId);
    await storeOf(storeId);
    if (kpi !== 'nps' && req.body.minimum < 0) throw badRequest('minimum', 'a rate in percent, 0 to 100');
    const saved = await db.$transaction(async (tx) => {
      const before = await tx.kpiThreshold.findUnique({ where: { storeId_kpi: { storeId, kpi } } });
      const row = await tx.kpiThreshold.upsert({ where: { storeId_kpi: { storeId, kpi } }, update: { minimum: req.body.minimum }, create: { storeId, kpi, minimum: req.body.minimum } });
      await recordAudit(tx, { actor: auditActorOf(actor), action: 'kpi-threshold.set', entity: 'kpi-threshold', entityId: `${storeId}:${kpi}`, storeId, before: before && { minimum: before.minimum }, after: { minimum: row.minimum } });
      return row;
    });
    return { kpi, label: KPI_LABELS[kpi], minimum: saved.minimum };
  });

  app.delete('/v1/stores/:storeId/kpi-thresholds/:kpi', {
    schema: { tags: ['stores'], summary: 'Remove a KPI\'s floor', params: ThresholdParams, response: { 204: z.null(), 403: ErrorBodySchema, 404: ErrorBodySchema } },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const { storeId, kpi } = req.params;
    assertCan(actor, 'store.settings', storeId);
    await db.$transaction(async (tx) => {
      const before = await tx.kpiThreshold.findUnique({ where: { storeId_kpi: { storeId, kpi } } });
      if (!before) throw notFound(`threshold ${kpi} of store ${storeId}`);
      await tx.kpiThreshold.delete({ where: { storeId_kpi: { storeId, kpi } } });
      await recordAudit(tx, { actor: auditActorOf(actor), action: 'kpi-threshold.remove', entity: 'kpi-threshold', entityId: `${storeId}:${kpi}`, storeId, before: { minimum: before.minimum } });
    });
    return reply.status(204).send(null);
  });
};
