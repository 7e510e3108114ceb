import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  DEFAULT_KPI_TIME_ZONE,
  isFollowUpKpi,
  KPI_KEYS,
  KPI_LABELS,
  kpiValues,
  RANKING_METRICS,
  rankByRate,
  rate,
  resolvePeriod,
  YEARS_KPI_KEYS,
  YEARS_KPI_LABELS,
} from '../../domain/kpi';
import { localDateOf } from '../../domain/local-time';
import { boundedDate, boundedDateTime, inSaneRange } from '../../domain/dates';
import { createKpiQueries } from '../../kpi/queries';
import { createYearsKpiQueries } from '../../kpi/years';
import type { KpiFilter } from '../../kpi/sql';
import { kpiPeople, storeIdsOf } from '../../services/access';
import { actorOf, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, forbidden, notFound } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

const PeriodBoundSchema = z
  .string()
  .refine((v) => boundedDate().safeParse(v).success || boundedDateTime().safeParse(v).success, {
    message: 'expected a date YYYY-MM-DD or an ISO instant with offset between 2000 and 2100, e.g. 2026-03-01 or 2026-03-01T00:00:00+08:00',
  });

const FilterQuerySchema = z.object({
  storeId: StoreIdSchema.optional().describe('default: every store the key spans'),
  staffId: z.uuid().optional().describe('follow-up KPIs: the assignee; delivery KPIs: the delivery\'s consultant'),
  from: PeriodBoundSchema.optional().describe('inclusive; YYYY-MM-DD is local midnight in the store\'s time zone (Asia/Shanghai without storeId), an ISO instant is itself (encode "+" as %2B). Give both from and to, or neither for the current month'),
  to: PeriodBoundSchema.optional().describe('exclusive; same formats as from'),
});

/** Opaque to clients: the (time, id) of the last row served. */
const CursorSchema = z.string().max(200).transform((raw, ctx) => {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && inSaneRange(new Date(at)) && z.uuid().safeParse(id).success) return { at: new Date(at), id: id as string };
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'not a cursor from this endpoint: pass nextCursor back unchanged' });
  return z.NEVER;
});
const encodeCursor = (at: Date, id: string) => Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');

const LabelSchema = z.object({ zh: z.string(), en: z.string() });
const RateFields = {
  label: LabelSchema,
  numerator: z.number().int(),
  denominator: z.number().int(),
  rate: z.number().nullable().describe('numerator / denominator x 100, one decimal; null when the denominator is 0'),
};
const KpiSchema = z.discriminatedUnion('key', [
  z.object({ key: z.enum(KPI_KEYS).exclude(['csat', 'nps']), ...RateFields }),
  z.object({ key: z.literal('csat'), ...RateFields, mean: z.number().nullable().describe('mean answer 1-5, two decimals') }),
  z.object({
    key: z.literal('nps'), ...RateFields,
    score: z.number().nullable().describe('% promoters (9-10) minus % detractors (0-6), one decimal'),
    responses: z.number().int(), promoters: z.number().int(), passives: z.number().int(), detractors: z.number().int(),
  }),
]);

const PeriodSchema = z.object({ from: z.string(), to: z.string(), timeZone: z.string() });

const FollowUpRowSchema = z.object({
  followUpId: z.string(), deliveryId: z.string(), storeId: z.string(), assigneeId: z.string().nullable(),
  dueEnd: z.string().describe('the end of the plan\'s required window, which never moves'),
  status: z.string(), survey: z.boolean().describe('the plan\'s survey step: its answers are CSAT and NPS'),
  recordedLate: z.boolean().describe('the delivery reached the system after this window closed: counted apart from timeliness'),
  satisfied: z.boolean().nullable(), csat: z.number().nullable(), nps: z.number().nullable(), contactDataCorrect: z.boolean().nullable(),
  answerChannel: z.string().nullable().describe('how the answer came: phone, sms or email'),
  inNumerator: z.boolean(),
  subtracted: z.boolean().describe('takes one off the numerator (an NPS detractor)'),
});
const DeliveryRowSchema = z.object({
  deliveryId: z.string(), storeId: z.string(), consultantId: z.string(), deliveredAt: z.string(), status: z.string(), byAppointment: z.boolean(),
  inNumerator: z.boolean(),
});
const RowsPageSchema = z.discriminatedUnion('subject', [
  z.object({ key: z.enum(KPI_KEYS), subject: z.literal('followUp'), items: z.array(FollowUpRowSchema), nextCursor: z.string().nullable() }),
  z.object({ key: z.enum(KPI_KEYS), subject: z.literal('delivery'), items: z.array(DeliveryRowSchema), nextCursor: z.string().nullable() }),
]);

const RankingSchema = z.object({
  metric: z.enum(RANKING_METRICS),
  label: LabelSchema,
  period: PeriodSchema,
  storeId: z.string().nullable(),
  ranking: z.array(z.object({
    rank: z.number().int(), staffId: z.string(), storeId: z.string(), name: z.string(), role: z.string(),
    numerator: z.number().int(), denominator: z.number().int(), rate: z.number(),
  })),
});

/** KPIs of DOMAIN.md section 6 over a period, for a store (or every store of the key), optionally one person. */
export const kpiRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  const queries = createKpiQueries(db);
  const yearsQueries = createYearsKpiQueries(db);

  /**
   * The actor's scope and the period, or a 4xx naming the parameter at fault. A consultant reads
   * their own figures, a supervisor their own or a team member's (src/services/access.ts); the
   * store's figures and the ranking are for CR specialists and managers.
   */
  async function filterFor(req: FastifyRequest, query: { storeId?: string; staffId?: string; from?: string; to?: string }, ranking = false) {
    const actor = actorOf(req);
    const stores = storeIdsOf(actor);
    if (query.storeId) assertStoreAccess(actor, query.storeId);
    else if (stores !== null && stores.length > 1) throw badRequest('querystring.storeId', `name one of your stores: ${stores.join(', ')}`);
    const storeId = query.storeId ?? stores?.[0];
    const people = storeId ? kpiPeople(actor, storeId) : null;
    if (people !== null) {
      if (ranking) throw forbidden('the ranking is for CR specialists and managers');
      if (query.staffId && !people.includes(query.staffId)) throw notFound(`staff member ${query.staffId}`);
      query = { ...query, staffId: query.staffId ?? people[0] };
    }
    let timeZone = DEFAULT_KPI_TIME_ZONE;
    if (storeId) {
      const store = await db.store.findUnique({ where: { id: storeId }, select: { timeZone: true } });
      if (!store) throw badRequest('querystring.storeId', `unknown store ${storeId}`);
      timeZone = store.timeZone;
    }
    if (query.staffId && !(await db.staff.findFirst({ where: { id: query.staffId, ...(storeId && { storeId }) }, select: { id: true } }))) {
      throw badRequest('querystring.staffId', storeId ? `no staff member ${query.staffId} at store ${storeId}` : `unknown staff member ${query.staffId}`);
    }
    const now = new Date();
    const period = resolvePeriod({ from: query.from, to: query.to, timeZone, now });
    if (!period.ok) throw badRequest(`querystring.${period.field}`, period.message);
    const filter: KpiFilter = { storeId, staffId: query.staffId, from: period.from, to: period.to, asOf: now };
    return { filter, period: { from: period.from.toISOString(), to: period.to.toISOString(), timeZone } };
  }

  app.get('/v1/kpis/years', {
    schema: {
      tags: ['kpis'],
      summary: 'The years after delivery: maintenance reminders booked and converted (reminded -> booked -> came) and insurance renewal, '
        + 'by the cycle\'s due date; post-service satisfaction by the call\'s required window',
      querystring: FilterQuerySchema,
      response: {
        200: z.object({ period: PeriodSchema, storeId: z.string().nullable(), kpis: z.array(z.object({ key: z.enum(YEARS_KPI_KEYS), ...RateFields })) }),
        403: ErrorBodySchema, 404: ErrorBodySchema,
      },
    },
  }, async (req) => {
    const { filter, period } = await filterFor(req, { ...req.query });
    const day = (at: Date) => localDateOf(at, period.timeZone);
    const tallies = await yearsQueries.tallies(filter, { fromOn: day(filter.from), toOn: day(filter.to), todayOn: day(filter.asOf) });
    return {
      period, storeId: filter.storeId ?? null,
      kpis: YEARS_KPI_KEYS.map((key) => {
        const { numerator, denominator } = tallies[key];
        return { key, label: YEARS_KPI_LABELS[key], numerator, denominator, rate: rate(numerator, denominator) };
      }),
    };
  });

  app.get('/v1/kpis', {
    schema: {
      tags: ['kpis'],
      summary: 'Every KPI over a period: numerator, denominator and rate (due follow-ups never done count in the denominator; '
        + 'timeliness counts calls whose required window has closed, recorded-late calls apart)',
      querystring: FilterQuerySchema,
      response: {
        200: z.object({ period: PeriodSchema, storeId: z.string().nullable(), staffId: z.string().nullable(), kpis: z.array(KpiSchema) }),
        400: ErrorBodySchema, 403: ErrorBodySchema,
      },
    },
  }, async (req) => {
    const { filter, period } = await filterFor(req, req.query);
    const kpis = kpiValues(await queries.tallies(filter));
    return { period, storeId: filter.storeId ?? null, staffId: filter.staffId ?? null, kpis };
  });

  app.get('/v1/kpis/ranking', {
    schema: {
      tags: ['kpis'],
      summary: 'Staff ranked on one KPI (排序法), best first: follow-up rates by assignee, the appointment rate by consultant; '
        + 'equal rates share a rank; staff with nothing to count are left out',
      querystring: FilterQuerySchema.omit({ staffId: true }).extend({ metric: z.enum(RANKING_METRICS) }),
      response: { 200: RankingSchema, 400: ErrorBodySchema, 403: ErrorBodySchema },
    },
  }, async (req) => {
    const { metric } = req.query;
    const { filter, period } = await filterFor(req, req.query, true);
    const tallies = isFollowUpKpi(metric) ? await queries.byAssignee(metric, filter) : await queries.byConsultant(metric, filter);
    const ranking = rankByRate(tallies, (a, b) => b.denominator - a.denominator || a.name.localeCompare(b.name, 'zh-CN') || a.staffId.localeCompare(b.staffId));
    return { metric, label: KPI_LABELS[metric], period, storeId: filter.storeId ?? null, ranking };
  });

  app.get('/v1/kpis/:key/rows', {
    schema: {
      tags: ['kpis'],
      summary: 'The follow-ups or deliveries behind a KPI\'s denominator, each flagged whether it is in the numerator; keyset-paginated',
      params: z.object({ key: z.enum(KPI_KEYS) }),
      querystring: FilterQuerySchema.extend({ cursor: CursorSchema.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
      response: { 200: RowsPageSchema, 400: ErrorBodySchema, 403: ErrorBodySchema },
    },
  }, async (req) => {
    const { key } = req.params;
    const { cursor, limit } = req.query;
    const { filter } = await filterFor(req, req.query);
    // One row more than asked tells whether another page follows.
    const page = { after: cursor, limit: limit + 1 };
    if (isFollowUpKpi(key)) {
      const rows = await queries.followUpRows(key, filter, page);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        key, subject: 'followUp' as const,
        items: items.map((r) => ({
          followUpId: r.id, deliveryId: r.deliveryId, storeId: r.storeId, assigneeId: r.assigneeId, dueEnd: r.dueEnd.toISOString(),
          status: r.status, survey: r.survey, recordedLate: r.recordedLate, satisfied: r.satisfied, csat: r.csat, nps: r.nps,
          contactDataCorrect: r.contactDataCorrect, answerChannel: r.answerChannel, inNumerator: r.inNumerator, subtracted: r.subtracted,
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.dueEnd, last.id) : null,
      };
    }
    const rows = await queries.deliveryRows(key, filter, page);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      key, subject: 'delivery' as const,
      items: items.map((r) => ({
        deliveryId: r.id, storeId: r.storeId, consultantId: r.consultantId, deliveredAt: r.deliveredAt.toISOString(), status: r.status,
        byAppointment: r.byAppointment, inNumerator: r.inNumerator,
      })),
      nextCursor: rows.length > limit && last ? encodeCursor(last.deliveredAt, last.id) : null,
    };
  });
};
