import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AUDIT_GROUPINGS,
  type AuditGrouping,
  CASE_AUDIT_FIGURE_KEYS,
  FOLLOW_UP_AUDIT_FIGURE_KEYS,
} from '../../domain/audits';
import { boundedDate, boundedDateTime, inSaneRange } from '../../domain/dates';
import { resolvePeriod } from '../../domain/kpi';
import { safeText } from '../../domain/text';
import { type AuditFilter, createAuditQueries } from '../../kpi/audits';
import { kpiPeople, storeIdsOf } from '../../services/access';
import { actorOf, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, notFound } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

const PeriodBoundSchema = z.string().refine((v) => boundedDate().safeParse(v).success || boundedDateTime().safeParse(v).success, {
  message: 'expected a date YYYY-MM-DD (the store\'s local midnight) or an ISO instant with offset between 2000 and 2100',
});

const ScopeQuerySchema = z.object({
  storeId: StoreIdSchema.optional().describe('required when you reach several stores'),
  from: PeriodBoundSchema.optional().describe('inclusive; give both from and to, or neither for the current month'),
  to: PeriodBoundSchema.optional().describe('exclusive'),
});
const GroupQuery = { by: z.enum(AUDIT_GROUPINGS).default('staff').describe('staff: who holds it; team: the consultant\'s supervisor; store') };
const RowsQuery = {
  groupId: safeText(100).optional().describe('the groupId of the row whose number you opened (a staff member\'s or supervisor\'s ID; "none" for nobody\'s); absent: the whole scope'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(100).refine((v) => {
    const [at, id] = v.split('_');
    return /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(at ?? '') && inSaneRange(new Date(at)) && z.uuid().safeParse(id).success;
  }, 'the nextCursor of the previous page').optional(),
};

const PeriodSchema = z.object({ from: z.string(), to: z.string(), timeZone: z.string() });
const groupSchema = <K extends string>(keys: readonly K[]) => z.object({
  groupId: z.string().nullable().describe('null: held by nobody'), name: z.string().nullable(), role: z.string().nullable(),
  ...Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>,
});
const iso = (d: Date | null) => d?.toISOString() ?? null;

/**
 * The manager audit: overdue and late follow-ups and cases per staff member, team and store over a
 * period, and the rows behind each number. Managers and CR specialists read the store; a
 * supervisor their team, a consultant their own (src/services/access.ts, as for the KPIs).
 */
export const managerAuditRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  const queries = createAuditQueries(db);

  async function scopeOf(req: FastifyRequest, query: z.infer<typeof ScopeQuerySchema>): Promise<{ filter: AuditFilter; period: z.infer<typeof PeriodSchema> }> {
    const actor = actorOf(req);
    const stores = storeIdsOf(actor);
    const storeId = query.storeId ?? (stores?.length === 1 ? stores[0] : undefined);
    if (!storeId) throw badRequest('querystring.storeId', 'name the store');
    assertStoreAccess(actor, storeId);
    const store = await db.store.findUnique({ where: { id: storeId }, select: { timeZone: true } });
    if (!store) throw notFound(`store ${storeId}`);
    const now = new Date();
    const period = resolvePeriod({ from: query.from, to: query.to, timeZone: store.timeZone, now });
    if (!period.ok) throw badRequest(`querystring.${period.field}`, period.message);
    const people = kpiPeople(actor, storeId);
    return {
      filter: { storeId, from: period.from, to: period.to, asOf: now, ...(people && { people }) },
      period: { from: period.from.toISOString(), to: period.to.toISOString(), timeZone: store.timeZone },
    };
  }

  const memberOf = (by: AuditGrouping, groupId?: string) => (groupId === undefined ? null : { by, id: groupId === 'none' ? null : groupId });
  const pageOf = (cursor?: string, limit = 100) => {
    const [at, id] = cursor ? cursor.split('_') : [];
    return { after: cursor ? { at: new Date(at), id } : undefined, limit: limit + 1 };
  };

  app.get('/v1/audits/follow-ups', {
    schema: {
      tags: ['audits'],
      summary: 'Follow-ups due in the period by staff member, team or store: due, on time, late, missed, overdue (open past the window) and recorded late',
      querystring: ScopeQuerySchema.extend(GroupQuery),
      response: { 200: z.object({ period: PeriodSchema, storeId: z.string(), by: z.enum(AUDIT_GROUPINGS), groups: z.array(groupSchema(FOLLOW_UP_AUDIT_FIGURE_KEYS)) }), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const { filter, period } = await scopeOf(req, req.query);
    return { period, storeId: filter.storeId, by: req.query.by, groups: await queries.followUpFigures(filter, req.query.by) };
  });

  app.get('/v1/audits/follow-ups/rows', {
    schema: {
      tags: ['audits'], summary: 'The follow-ups behind one number of the follow-up audit, by the end of their required window; keyset-paginated',
      querystring: ScopeQuerySchema.extend({ ...GroupQuery, ...RowsQuery, figure: z.enum(FOLLOW_UP_AUDIT_FIGURE_KEYS) }),
      response: {
        200: z.object({
          items: z.array(z.object({
            followUpId: z.string(), deliveryId: z.string(), stepKey: z.string(), assigneeId: z.string().nullable(), dueStart: z.string(), dueEnd: z.string(),
            status: z.string(), completedAt: z.string().nullable(), recordedLate: z.boolean(),
          })),
          nextCursor: z.string().nullable(),
        }),
        403: ErrorBodySchema, 404: ErrorBodySchema,
      },
    },
  }, async (req) => {
    const q = req.query;
    const { filter } = await scopeOf(req, q);
    const rows = await queries.followUpRows(filter, q.figure, memberOf(q.by, q.groupId), pageOf(q.cursor, q.limit));
    const items = rows.slice(0, q.limit);
    const last = items.at(-1);
    return {
      items: items.map((r) => ({
        followUpId: r.id, deliveryId: r.deliveryId, stepKey: r.stepKey, assigneeId: r.assigneeId, dueStart: r.dueStart.toISOString(), dueEnd: r.dueEnd.toISOString(),
        status: r.status, completedAt: iso(r.completedAt), recordedLate: r.recordedLate,
      })),
      nextCursor: rows.length > q.limit && last ? `${last.dueEnd.toISOString()}_${last.id}` : null,
    };
  });

  app.get('/v1/audits/cases', {
    schema: {
      tags: ['audits'],
      summary: 'Cases opened in the period by their owner, team or store: opened, open, overdue, first response late, resolved, resolved late',
      querystring: ScopeQuerySchema.extend(GroupQuery),
      response: { 200: z.object({ period: PeriodSchema, storeId: z.string(), by: z.enum(AUDIT_GROUPINGS), groups: z.array(groupSchema(CASE_AUDIT_FIGURE_KEYS)) }), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const { filter, period } = await scopeOf(req, req.query);
    return { period, storeId: filter.storeId, by: req.query.by, groups: await queries.caseFigures(filter, req.query.by) };
  });

  app.get('/v1/audits/cases/rows', {
    schema: {
      tags: ['audits'], summary: 'The cases behind one number of the case audit, oldest first; keyset-paginated',
      querystring: ScopeQuerySchema.extend({ ...GroupQuery, ...RowsQuery, figure: z.enum(CASE_AUDIT_FIGURE_KEYS) }),
      response: {
        200: z.object({
          items: z.array(z.object({
            caseId: z.string(), deliveryId: z.string().nullable(), assigneeId: z.string().nullable(), reason: z.string(), status: z.string(), level: z.number().int(),
            openedAt: z.string(), respondBy: z.string().nullable(), acknowledgedAt: z.string().nullable(), resolveBy: z.string().nullable(),
            resolvedAt: z.string().nullable(), dueAt: z.string().nullable(),
          })),
          nextCursor: z.string().nullable(),
        }),
        403: ErrorBodySchema, 404: ErrorBodySchema,
      },
    },
  }, async (req) => {
    const q = req.query;
    const { filter } = await scopeOf(req, q);
    const rows = await queries.caseRows(filter, q.figure, memberOf(q.by, q.groupId), pageOf(q.cursor, q.limit));
    const items = rows.slice(0, q.limit);
    const last = items.at(-1);
    return {
      items: items.map((r) => ({
        caseId: r.id, deliveryId: r.deliveryId, assigneeId: r.assigneeId, reason: r.reason, status: r.status, level: r.level, openedAt: r.createdAt.toISOString(),
        respondBy: iso(r.respondBy), acknowledgedAt: iso(r.acknowledgedAt), resolveBy: iso(r.resolveBy), resolvedAt: iso(r.resolvedAt), dueAt: iso(r.dueAt),
      })),
      nextCursor: rows.length > q.limit && last ? `${last.createdAt.toISOString()}_${last.id}` : null,
    };
  });
};
