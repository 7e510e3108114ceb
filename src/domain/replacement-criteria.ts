/**
 * The boundary schema of a store's replacement-screening criteria (the types and rules are in
 * replacement.ts, which the workflow bundle imports without zod). Every number is bounded.
 */
import { z } from 'zod';
import type { ReplacementCriteria } from './replacement';
import { safeNote, safeText } from './text';
import { MAX_ODOMETER_KM } from './years';

/** Fifty years: no car is kept longer. */
const AgeMonthsSchema = z.number().int().min(0).max(600);

export const ReplacementCriteriaSchema = z.strictObject({
  enabled: z.boolean(),
  screeningWeekday: z.number().int().min(1).max(7).describe('the weekday the morning run screens (1 = Monday ... 7 = Sunday)'),
  minAgeMonths: AgeMonthsSchema.describe('the vehicle\'s age since delivery, whole months, inclusive'),
  maxAgeMonths: AgeMonthsSchema,
  models: z.array(safeText(100)).max(100).describe('models to screen; empty: every model'),
  lastServiceWithinMonths: z.number().int().min(1).max(120).nullable().describe('came for a service within this many months; null: any'),
  minMileageKm: z.number().int().min(0).max(MAX_ODOMETER_KM).nullable().describe('forecast odometer today at least this; null: any'),
  callWindowDays: z.number().int().min(1).max(60).describe('days the consultant has for the outreach call'),
}).superRefine((c, ctx) => {
  if (c.maxAgeMonths < c.minAgeMonths) ctx.addIssue({ code: 'custom', path: ['maxAgeMonths'], message: 'must not be less than minAgeMonths' });
}) satisfies z.ZodType<ReplacementCriteria>;

/** A CR specialist's or manager's pre-screening decision. */
export const ReplacementDecisionBodySchema = z.strictObject({
  decision: z.enum(['already_replaced', 'no_intent', 'wrong_data', 'pass']),
  note: safeNote(2000).optional(),
});
