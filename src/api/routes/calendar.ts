import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_CASE_POLICY } from '../../domain/cases';
import { CalendarDay, CHINA_CALENDARS, DEFAULT_OPENING_HOURS, OpeningHoursSchema, YearCalendarSchema } from '../../domain/working-hours';
import { recordAudit } from '../../services/audit';
import { actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { HttpError } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/**
 * A store's working calendar (DOMAIN.md section 5: case deadlines count in it): its opening hours
 * and case deadlines (the case policy), and per year its public holidays and make-up working days
 * (调休). Without a year of its own, a store follows the mainland China schedule. Changes apply to
 * cases opened (or reopened) afterwards; running deadlines keep the calendar they were counted in.
 */
const DaySchema = z.object({ date: z.string(), name: z.string() });
const CalendarSchema = z.object({
  storeId: z.string(), year: z.number(),
  source: z.enum(['store', 'default', 'none']).describe('store: its own; default: the mainland China schedule; none: weekdays only'),
  holidays: z.array(DaySchema), workdays: z.array(DaySchema).describe('weekend days worked instead (调休)'),
});
const PolicySchema = z.object({
  storeId: z.string(),
  openingHours: OpeningHoursSchema.describe('seven days, Monday first: {"start":"09:00","end":"18:00"} or null (closed)'),
  firstResponseMinutes: z.number(), resolutionMinutes: z.number(),
  smsFromLevel: z.number().nullable().describe('from this ladder level on, the new owner also gets an SMS; null: email only'),
});
const PolicyBodySchema = z.strictObject({
  openingHours: OpeningHoursSchema,
  firstResponseMinutes: z.number().int().min(1).max(60 * 24 * 30).describe('working minutes to the first response'),
  resolutionMinutes: z.number().int().min(1).max(60 * 24 * 90).describe('working minutes to resolution'),
  smsFromLevel: z.number().int().min(1).max(3).nullable(),
});

/** The years a calendar can be set for: a schedule is published a year ahead, and kept for the audits of past years. */
const YearParams = z.object({ storeId: StoreIdSchema, year: z.coerce.number().int().min(2000).max(2100) });

export const calendarRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  app.get('/v1/stores/:storeId/calendar/:year', {
    schema: { tags: ['cases'], summary: 'A year of the store\'s working calendar: holidays and make-up working days', params: YearParams, response: { 200: CalendarSchema, 404: ErrorBodySchema } },
  }, async (req) => {
    const { storeId, year } = req.params;
    assertStoreAccess(actorOf(req), storeId);
    const own = await db.storeCalendar.findUnique({ where: { storeId_year: { storeId, year } } });
    if (own) return { storeId, year, source: 'store' as const, holidays: own.holidays as CalendarDay[], workdays: own.workdays as CalendarDay[] };
    const standard = CHINA_CALENDARS[year];
    return { storeId, year, source: standard ? 'default' as const : 'none' as const, holidays: standard?.holidays ?? [], workdays: standard?.workdays ?? [] };
  });

  app.put('/v1/stores/:storeId/calendar/:year', {
    schema: {
      tags: ['cases'], summary: 'Replace a year of the store\'s calendar (managers)', params: YearParams,
      body: z.object({ holidays: z.unknown(), workdays: z.unknown() }).describe('{"holidays":[{"date":"2026-10-01","name":"国庆节"}],"workdays":[{"date":"2026-10-10","name":"国庆节调休"}]}'),
      response: { 200: CalendarSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const { storeId, year } = req.params;
    const actor = actorOf(req);
    assertCan(actor, 'plan.edit', storeId);
    // The body's dates must lie in the year of the path: checked against it, each bad field named.
    const parsed = YearCalendarSchema(year).safeParse(req.body);
    if (!parsed.success) {
      // One issue per field (a malformed date fails both its format and its range).
      const byField = new Map(parsed.error.issues.map((i) => [i.path.join('.') || '(body)', i.message]));
      const issues = [...byField].map(([field, message]) => ({ field, message }));
      throw new HttpError(400, 'ValidationError', issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
    }
    const data = { holidays: parsed.data.holidays, workdays: parsed.data.workdays, updatedBy: `${actor.kind}:${actor.id}` };
    await db.$transaction(async (tx) => {
      const before = await tx.storeCalendar.findUnique({ where: { storeId_year: { storeId, year } } });
      await tx.storeCalendar.upsert({ where: { storeId_year: { storeId, year } }, update: data, create: { storeId, year, ...data } });
      await recordAudit(tx, {
        actor: { kind: actor.kind, id: actor.id }, action: 'store.calendar', entity: 'store', entityId: storeId, storeId,
        before: before && { year, holidays: before.holidays, workdays: before.workdays }, after: { year, ...parsed.data },
      });
    });
    return { storeId, year, source: 'store' as const, ...parsed.data };
  });

  app.get('/v1/stores/:storeId/case-policy', {
    schema: { tags: ['cases'], summary: 'The store\'s opening hours and case deadlines (working minutes)', params: z.object({ storeId: StoreIdSchema }), response: { 200: PolicySchema, 404: ErrorBodySchema } },
  }, async (req) => {
    const { storeId } = req.params;
    assertStoreAccess(actorOf(req), storeId);
    const p = await db.casePolicy.findUnique({ where: { storeId } });
    const hours = OpeningHoursSchema.safeParse(p?.openingHours);
    return {
      storeId, openingHours: hours.success ? hours.data : DEFAULT_OPENING_HOURS,
      firstResponseMinutes: p?.firstResponseMinutes ?? DEFAULT_CASE_POLICY.firstResponseMinutes,
      resolutionMinutes: p?.resolutionMinutes ?? DEFAULT_CASE_POLICY.resolutionMinutes,
      smsFromLevel: p ? p.smsFromLevel : DEFAULT_CASE_POLICY.smsFromLevel,
    };
  });

  app.put('/v1/stores/:storeId/case-policy', {
    schema: {
      tags: ['cases'], summary: 'Set the store\'s opening hours and case deadlines (managers)', params: z.object({ storeId: StoreIdSchema }), body: PolicyBodySchema,
      response: { 200: PolicySchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const { storeId } = req.params;
    const actor = actorOf(req);
    assertCan(actor, 'plan.edit', storeId);
    const data = { ...req.body, openingHours: req.body.openingHours as object[], updatedBy: `${actor.kind}:${actor.id}` };
    await db.$transaction(async (tx) => {
      const before = await tx.casePolicy.findUnique({ where: { storeId } });
      await tx.casePolicy.upsert({ where: { storeId }, update: data, create: { storeId, ...data } });
      await recordAudit(tx, { actor: { kind: actor.kind, id: actor.id }, action: 'store.case-policy', entity: 'store', entityId: storeId, storeId, before, after: req.body });
    });
    return { storeId, ...req.body };
  });
};
