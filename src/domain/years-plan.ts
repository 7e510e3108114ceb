/**
 * The boundary schemas of the years after delivery: a store's years plan, the vehicle's data a
 * lifecycle starts from (the DMS at delivery, or the importer), and DMS vehicle events. Each
 * number has a bound, so that nothing the workflow could not plan with reaches it. The types are
 * those of years.ts (which the workflow bundle imports without zod).
 */
import { z } from 'zod';
import { boundedDate, boundedDateTime } from './dates';
import { safeText } from './text';
import { MAX_ODOMETER_KM, MAX_READINGS, type VehicleFacts, type YearsPlan } from './years';

const TemplateKeySchema = z.string().max(64).regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected kebab-case, e.g. maintenance-reminder');
const OdometerSchema = z.number().int().min(0).max(MAX_ODOMETER_KM).describe('km');
/** A touch may come up to a year before or after its due date. */
const OffsetSchema = z.number().int().min(-366).max(366);

const TouchSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('message'),
    offsetDays: OffsetSchema,
    channel: z.enum(['sms', 'email']),
    template: TemplateKeySchema,
    notAfterDays: z.number().int().min(0).max(60),
  }),
  z.strictObject({
    kind: z.literal('call'),
    offsetDays: OffsetSchema,
    windowDays: z.number().int().min(1).max(60),
    role: z.enum(['service_advisor', 'renewal_specialist', 'cr_specialist', 'consultant']),
    checklist: z.array(safeText(200)).min(1).max(20),
    attempts: z.strictObject({ max: z.number().int().min(1).max(10), retryAfterMinutes: z.number().int().min(1).max(7 * 24 * 60) }),
  }),
]);
const TouchesSchema = z.array(TouchSchema).max(10);

const IntervalSchema = z.strictObject({ months: z.number().int().min(1).max(60), km: z.number().int().min(500).max(100_000) });

export const YearsPlanSchema = z.strictObject({
  maintenance: z.strictObject({
    first: IntervalSchema,
    every: IntervalSchema,
    models: z.array(z.strictObject({ model: safeText(100), first: IntervalSchema, every: IntervalSchema })).max(200),
    touches: TouchesSchema,
  }),
  postService: z.strictObject({ touches: TouchesSchema }),
  insurance: z.strictObject({ touches: TouchesSchema }),
  inspection: z.strictObject({ everyMonths: z.number().int().min(1).max(120), touches: TouchesSchema }),
  licence: z.strictObject({ everyMonths: z.number().int().min(1).max(240), touches: TouchesSchema }),
  birthday: z.strictObject({ touches: TouchesSchema }),
  anniversary: z.strictObject({ touches: TouchesSchema }),
}) satisfies z.ZodType<YearsPlan>;

/** "MM-DD", or a full date whose year is ignored. */
const BirthdaySchema = z.union([z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'MM-DD or YYYY-MM-DD'), boundedDate()]);

/** What the DMS (or the importer) knows about the vehicle and its owner; all optional but the model. */
export const VehicleFactsSchema = z.strictObject({
  model: safeText(100),
  deliveryOdometerKm: OdometerSchema.optional(),
  readings: z.array(z.strictObject({ on: boundedDate(), km: OdometerSchema })).max(MAX_READINGS).optional(),
  lastServiceOn: boundedDate().optional(),
  servicesDone: z.number().int().min(0).max(1000).optional(),
  insuranceExpiresOn: boundedDate().optional(),
  inspectionDueOn: boundedDate().optional(),
  licenceExpiresOn: boundedDate().optional(),
  birthday: BirthdaySchema.optional(),
}) satisfies z.ZodType<VehicleFacts>;

/**
 * A DMS vehicle event as the API takes it. Instants (a visit, a reading) are ISO date-times,
 * turned into the store's local dates for the workflow; expiries are dates.
 */
export const VehicleEventInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('service-booked'), bookedFor: boundedDateTime().describe('the appointment') }),
  z.strictObject({
    kind: z.literal('service-visit'),
    visitedAt: boundedDateTime().describe('not in the future'),
    odometerKm: OdometerSchema.optional(),
    maintenance: z.boolean().describe('a periodic service (定保): it starts the next interval'),
    work: z.array(safeText(200)).max(30).optional(),
  }),
  z.strictObject({ kind: z.literal('odometer'), readAt: boundedDateTime().describe('not in the future'), km: OdometerSchema }),
  z.strictObject({ kind: z.literal('insurance-renewed'), expiresOn: boundedDate().describe('a policy taken out (the first one after delivery) or renewed: its expiry') }),
  z.strictObject({ kind: z.literal('inspection-passed'), nextDueOn: boundedDate() }),
  z.strictObject({ kind: z.literal('licence-renewed'), expiresOn: boundedDate() }),
  z.strictObject({ kind: z.literal('owner-details'), birthday: BirthdaySchema.optional(), licenceExpiresOn: boundedDate().optional() }),
  z.strictObject({
    kind: z.enum(['sold', 'transferred', 'scrapped']).describe('the ownership ends; a new owner gets a new delivery'),
    endedAt: boundedDateTime().optional().describe('default: now; not in the future'),
  }),
]);
export type VehicleEventInput = z.infer<typeof VehicleEventInputSchema>;
