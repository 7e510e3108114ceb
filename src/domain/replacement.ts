/**
 * Replacement-cycle outreach (置换, DOMAIN.md section 3, I-1): which vehicles a store's screening
 * finds, in which cycle, and the consultant's outreach call a passed candidate becomes. Pure; the
 * workflow bundle imports it, so no zod here (the boundary schema is in replacement-criteria.ts).
 */
import { DateTime } from 'luxon';
import type { ContactWindow } from './local-time';
import { addLocalDays, windowOnLocalDay } from './local-time';
import { dailyKmForecast, type OdometerReading } from './years';

/** A store's screening criteria. Each bound left null does not screen. */
export interface ReplacementCriteria {
  /** Screening runs on the store's morning run only when enabled. */
  enabled: boolean;
  /**
   * The weekday of the morning run that screens (ISO: 1 = Monday ... 7 = Sunday). Weekly, not
   * daily: a vehicle that misses the mileage or service bound is asked about again at every
   * screening (about 13 ms of workflow query each, measured), and CR works the list weekly.
   */
  screeningWeekday: number;
  /** The vehicle's age since delivery, in whole months, inclusive (e.g. 36-60: three to five years). */
  minAgeMonths: number;
  maxAgeMonths: number;
  /** Models to screen (matched on the vehicle's model name, case-insensitive); empty: every model. */
  models: string[];
  /** Came for a service within this many months (still the store's customer); null: any. */
  lastServiceWithinMonths: number | null;
  /** The odometer today, forecast from the readings, at least this; null: any. */
  minMileageKm: number | null;
  /** Days the consultant has for the outreach call once CR passed the candidate. */
  callWindowDays: number;
}

export const DEFAULT_REPLACEMENT_CRITERIA: ReplacementCriteria = {
  enabled: false, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: [], lastServiceWithinMonths: null, minMileageKm: null, callWindowDays: 7,
};

/** What the screening knows of a vehicle: the delivery's date and model, the vehicle workflow's service and odometer data. */
export interface ScreenedVehicle {
  /** Store-local date of the delivery, YYYY-MM-DD. */
  deliveredOn: string;
  model: string;
  /** The last maintenance visit (null or absent: none known). */
  lastServiceOn?: string | null;
  readings?: readonly OdometerReading[];
}

/** What a candidate was found with: kept on its row for CR to check against the customer's word. */
export interface ScreeningFacts {
  ageMonths: number;
  model: string;
  lastServiceOn: string | null;
  /** Forecast odometer today; null when no reading is known. */
  forecastKm: number | null;
}

export type ScreeningResult = { match: true; cycle: string; facts: ScreeningFacts } | { match: false; reason: string };

const LOCAL_DATE = /^\d{4}-\d\d-\d\d$/;
const date = (on: string) => DateTime.fromISO(on, { zone: 'utc' });
const validDate = (on: string | null | undefined): on is string => typeof on === 'string' && LOCAL_DATE.test(on) && date(on).isValid;

/** Is the store's morning run on `today` (a local date) the week's screening? */
export function isScreeningDay(criteria: Pick<ReplacementCriteria, 'enabled' | 'screeningWeekday'>, today: string): boolean {
  return criteria.enabled && date(today).weekday === criteria.screeningWeekday;
}

/** Whole months from `from` to `to` (a car delivered on 31 January is a month old on 28 February). */
export function monthsBetween(from: string, to: string): number {
  return Math.floor(date(to).diff(date(from), 'months').months);
}

/**
 * The replacement cycle a vehicle is in: its year of ownership ("year-4" from its third
 * anniversary). A vehicle is screened at most once per cycle, so a retried or repeated run
 * finds nothing new, and a customer who said "not now" comes up again a year later.
 */
export function replacementCycle(deliveredOn: string, today: string): string {
  return `year-${Math.floor(monthsBetween(deliveredOn, today) / 12) + 1}`;
}

/**
 * The odometer today: the latest plausible reading plus the forecast daily distance since then.
 * Readings that go down after a higher one are typos or a reset and are ignored; null when nothing is known.
 */
export function forecastOdometerKm(readings: readonly OdometerReading[], today: string): number | null {
  const known = readings.filter((r) => validDate(r.on) && r.on <= today && Number.isFinite(r.km) && r.km >= 0).sort((a, b) => a.on.localeCompare(b.on));
  const latest = known.reduce<OdometerReading | null>((best, r) => (best && r.km < best.km ? best : r), null);
  if (!latest) return null;
  const rate = dailyKmForecast(known, today) ?? 0;
  return Math.round(latest.km + rate * date(today).diff(date(latest.on), 'days').days);
}

/** Does the vehicle match the criteria today? Missing or impossible data never matches a criterion that needs it. */
export function screenVehicle(criteria: ReplacementCriteria, vehicle: ScreenedVehicle, today: string): ScreeningResult {
  if (!validDate(vehicle.deliveredOn) || vehicle.deliveredOn > today) return { match: false, reason: 'no valid delivery date' };
  const ageMonths = monthsBetween(vehicle.deliveredOn, today);
  if (ageMonths < criteria.minAgeMonths || ageMonths > criteria.maxAgeMonths) return { match: false, reason: `age ${ageMonths} months is outside ${criteria.minAgeMonths}-${criteria.maxAgeMonths}` };
  const model = vehicle.model.trim();
  if (criteria.models.length && !criteria.models.some((m) => m.trim().toLowerCase() === model.toLowerCase())) return { match: false, reason: model ? `model ${model} is not screened` : 'no model known' };
  const lastServiceOn = validDate(vehicle.lastServiceOn) && vehicle.lastServiceOn <= today ? vehicle.lastServiceOn : null;
  if (criteria.lastServiceWithinMonths !== null) {
    if (!lastServiceOn) return { match: false, reason: 'no service known' };
    if (monthsBetween(lastServiceOn, today) >= criteria.lastServiceWithinMonths) return { match: false, reason: `last service ${lastServiceOn} is older than ${criteria.lastServiceWithinMonths} months` };
  }
  const forecastKm = forecastOdometerKm(vehicle.readings ?? [], today);
  if (criteria.minMileageKm !== null) {
    if (forecastKm === null) return { match: false, reason: 'no odometer reading known' };
    if (forecastKm < criteria.minMileageKm) return { match: false, reason: `forecast ${forecastKm} km is under ${criteria.minMileageKm}` };
  }
  return { match: true, cycle: replacementCycle(vehicle.deliveredOn, today), facts: { ageMonths, model, lastServiceOn, forecastKm } };
}

/** The deliveries whose age can match: delivered on or after the first date and on or before the last (store-local). */
export function deliveredBetween(criteria: Pick<ReplacementCriteria, 'minAgeMonths' | 'maxAgeMonths'>, today: string): { firstOn: string; lastOn: string } {
  return {
    firstOn: addLocalDays(date(today).minus({ months: criteria.maxAgeMonths + 1 }).toISODate()!, 1),
    lastOn: date(today).minus({ months: criteria.minAgeMonths }).toISODate()!,
  };
}

/** CR's pre-screening decision on a candidate, and the candidate's status after it. */
export const REPLACEMENT_DECISIONS = ['already_replaced', 'no_intent', 'wrong_data', 'pass'] as const;
export type ReplacementDecision = (typeof REPLACEMENT_DECISIONS)[number];
export const CANDIDATE_STATUSES = ['pending', 'already_replaced', 'no_intent', 'wrong_data', 'passed'] as const;
export type CandidateStatus = (typeof CANDIDATE_STATUSES)[number];
export const statusAfter = (d: ReplacementDecision): CandidateStatus => (d === 'pass' ? 'passed' : d);

/** The outreach call's step key: one per cycle, so the KPI finds them by prefix. */
export const OUTREACH_STEP_PREFIX = 'replacement-';
export const outreachStepKey = (cycle: string) => `${OUTREACH_STEP_PREFIX}${cycle}`;

/**
 * A showroom visit counts for the outreach call that booked it when it comes within this many
 * days of the call: an invitation's visit follows within weeks, and one a season later is not its.
 */
export const INVITATION_VISIT_DAYS = 60;

/** The consultant's outreach call: three tries half a day apart, checking the contact data (I-2) as every call does. */
export const OUTREACH_CALL = {
  kind: 'call',
  role: 'consultant',
  checklist: ['置换意向：现车使用情况、换购计划与预算', '邀约到店试驾新车型', '核对联系方式（电话、地址）'],
  attempts: { max: 3, retryAfterMinutes: 12 * 60 },
} as const;

/**
 * The call's required window: from now to the close of the customer's window on the `days`-th day
 * with a window still ahead, so the consultant has `days` chances to reach the customer. Today
 * counts only while its window is open: a call opened at 21:00 starts counting tomorrow.
 * `todayAlwaysCounts` is the rule before lifecycle v9, kept for the workflows that opened calls by it.
 */
export function outreachWindow(
  now: Date, days: number, today: string, customerWindow: ContactWindow, timeZone: string, { todayAlwaysCounts = false } = {},
): { dueStart: string; dueEnd: string } {
  const todayIsOver = now.getTime() >= windowOnLocalDay(today, customerWindow, timeZone).end.getTime();
  const first = todayIsOver && !todayAlwaysCounts ? addLocalDays(today, 1) : today;
  return { dueStart: now.toISOString(), dueEnd: windowOnLocalDay(addLocalDays(first, days - 1), customerWindow, timeZone).end.toISOString() };
}
