/**
 * The years after delivery (DOMAIN.md section 3): maintenance by time or forecast mileage,
 * insurance renewal, annual inspection, driving-licence expiry, greetings, and the short
 * satisfaction call after each service visit. Each kind of contact is plan data (offsets from its
 * due date, channels, templates, roles); these pure functions decide what is due next, and the
 * vehicle workflow only sleeps until then and acts. Imported by the workflow bundle: no zod (the
 * schema for the API lives in years-plan.ts).
 */
import { DateTime } from 'luxon';
import { addLocalDays, ContactWindow, localDateOf, windowOnLocalDay } from './local-time';

export const YEARS_KINDS = ['maintenance', 'post-service', 'insurance', 'inspection', 'licence', 'birthday', 'anniversary'] as const;
export type YearsKind = (typeof YEARS_KINDS)[number];

/** Greetings are marketing (consent, marketing hours and the frequency cap apply); the rest are service notices. */
export const MARKETING_KINDS: ReadonlySet<YearsKind> = new Set(['birthday', 'anniversary']);

export type YearsCallRole = 'service_advisor' | 'renewal_specialist' | 'cr_specialist' | 'consultant';

/** A message `offsetDays` from the cycle's due date (negative: before), at the opening of the customer's window. */
export interface YearsMessageTouch {
  kind: 'message';
  offsetDays: number;
  channel: 'sms' | 'email';
  template: string;
  /** Days after its day until which it may still go out (quiet hours, the cap, an outage); then it expires. */
  notAfterDays: number;
}

/** A call task from the window's opening on `offsetDays` to its close `windowDays` later. */
export interface YearsCallTouch {
  kind: 'call';
  offsetDays: number;
  windowDays: number;
  role: YearsCallRole;
  checklist: string[];
  attempts: { max: number; retryAfterMinutes: number };
}

export type YearsTouch = YearsMessageTouch | YearsCallTouch;

/** Whichever comes first: this many months, or this many km. */
export interface ServiceInterval {
  months: number;
  km: number;
}

export interface YearsPlan {
  maintenance: {
    first: ServiceInterval;
    every: ServiceInterval;
    /** Intervals of particular models (matched on the vehicle's model name); the others use first/every. */
    models: { model: string; first: ServiceInterval; every: ServiceInterval }[];
    touches: YearsTouch[];
  };
  /** After every service visit: the satisfaction call (offsets from the visit day). */
  postService: { touches: YearsTouch[] };
  /** Offsets from the policy's expiry; a cycle rolls on a year when no renewal is recorded. */
  insurance: { touches: YearsTouch[] };
  inspection: { everyMonths: number; touches: YearsTouch[] };
  licence: { everyMonths: number; touches: YearsTouch[] };
  birthday: { touches: YearsTouch[] };
  anniversary: { touches: YearsTouch[] };
}

const I2 = '核对客户联系信息（电话、邮箱、地址）（I-2）';
const CALL_ATTEMPTS = { max: 3, retryAfterMinutes: 240 };

export const DEFAULT_YEARS_PLAN: YearsPlan = {
  maintenance: {
    first: { months: 6, km: 5_000 },
    every: { months: 12, km: 10_000 },
    models: [],
    touches: [
      { kind: 'message', offsetDays: -14, channel: 'sms', template: 'maintenance-reminder', notAfterDays: 7 },
      { kind: 'message', offsetDays: -3, channel: 'sms', template: 'maintenance-reminder', notAfterDays: 2 },
      { kind: 'call', offsetDays: 0, windowDays: 7, role: 'service_advisor', checklist: ['提醒定期保养已到期', '预约进店保养时间', I2], attempts: CALL_ATTEMPTS },
    ],
  },
  postService: {
    touches: [{ kind: 'call', offsetDays: 1, windowDays: 3, role: 'cr_specialist', checklist: ['询问对本次保养/维修是否满意', '车辆问题是否已解决', I2], attempts: CALL_ATTEMPTS }],
  },
  insurance: {
    touches: [
      { kind: 'message', offsetDays: -60, channel: 'sms', template: 'insurance-renewal-reminder', notAfterDays: 14 },
      { kind: 'call', offsetDays: -45, windowDays: 14, role: 'renewal_specialist', checklist: ['提醒保险即将到期', '介绍续保方案', I2], attempts: CALL_ATTEMPTS },
      { kind: 'message', offsetDays: -30, channel: 'sms', template: 'insurance-renewal-reminder', notAfterDays: 14 },
      { kind: 'message', offsetDays: -7, channel: 'sms', template: 'insurance-renewal-reminder', notAfterDays: 6 },
    ],
  },
  inspection: {
    everyMonths: 24,
    touches: [
      { kind: 'message', offsetDays: -30, channel: 'sms', template: 'inspection-reminder', notAfterDays: 14 },
      { kind: 'message', offsetDays: -7, channel: 'sms', template: 'inspection-reminder', notAfterDays: 6 },
    ],
  },
  licence: {
    everyMonths: 120,
    touches: [{ kind: 'message', offsetDays: -60, channel: 'sms', template: 'licence-expiry-reminder', notAfterDays: 30 }],
  },
  birthday: { touches: [{ kind: 'message', offsetDays: 0, channel: 'sms', template: 'birthday-greeting', notAfterDays: 0 }] },
  anniversary: { touches: [{ kind: 'message', offsetDays: 0, channel: 'sms', template: 'purchase-anniversary-greeting', notAfterDays: 0 }] },
};

/** What the DMS (or the importer) knows about the vehicle and its owner when the workflow starts. */
export interface VehicleFacts {
  model: string;
  /** Odometer at delivery (0 for a new car). */
  deliveryOdometerKm?: number;
  /** Readings known before the start (an imported vehicle's service history). */
  readings?: OdometerReading[];
  /** The last maintenance visit before the start (an imported vehicle). */
  lastServiceOn?: string;
  /** Maintenance visits before the start: the next one is the first (0) or a periodic one. */
  servicesDone?: number;
  insuranceExpiresOn?: string;
  inspectionDueOn?: string;
  licenceExpiresOn?: string;
  /** The customer's birthday, "MM-DD" or "YYYY-MM-DD". */
  birthday?: string;
}

export interface OdometerReading {
  /** Local date YYYY-MM-DD. */
  on: string;
  km: number;
}

/** One occurrence of a kind: its due date and which of its touches were taken. */
export interface YearsCycle {
  /** Unique per delivery ("maintenance-3", "insurance-2028-06-30"): the prefix of its steps' keys. */
  key: string;
  kind: YearsKind;
  /** Local date YYYY-MM-DD. */
  dueOn: string;
  /** Indexes of the plan's touches already taken (sent, opened, skipped or expired). */
  taken: number[];
  /** A service booked for this day holds the cycle's touches back until a week after it. */
  bookedFor?: string;
  remindedAt?: string;
}

export interface YearsState {
  /** When the workflow first planned the years: touches due before then were never owed (an imported vehicle). */
  startedAt: string;
  cycles: YearsCycle[];
  /** The most recent readings, oldest first (at most MAX_READINGS). */
  readings: OdometerReading[];
  lastServiceOn: string;
  servicesDone: number;
  insuranceExpiresOn?: string;
  inspectionDueOn?: string;
  licenceExpiresOn?: string;
  birthday?: string;
  /** The rules of the years' call tasks still open, by step key (their cycle may have ended since). */
  openCalls: Record<string, YearsCallTouch>;
}

/** Enough readings for a robust rate, few enough to follow a change of habits. */
export const MAX_READINGS = 8;
/** Readings further back say little about today's driving. */
const RECENT_DAYS = 2 * 366;
/** No car is driven further than this a day on average: a rate above it is a typo in a reading. */
export const MAX_DAILY_KM = 1_500;
/** A booked service holds reminders back until this many days after the booked day (a no-show gets the rest). */
export const BOOKING_GRACE_DAYS = 7;

const daysBetween = (from: string, to: string) => DateTime.fromISO(to, { zone: 'utc' }).diff(DateTime.fromISO(from, { zone: 'utc' }), 'days').days;
const addMonths = (on: string, months: number) => DateTime.fromISO(on, { zone: 'utc' }).plus({ months }).toISODate()!;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The owner's average daily distance from odometer readings, or null when they cannot tell: the
 * median of the rates between every pair of recent readings a day or more apart. A median of
 * pairs survives one wrong reading (a typo, a swapped digit, a reset odometer): the pairs it
 * spoils are outvoted. Pairs whose odometer went down, or faster than any car goes, are left out.
 */
export function dailyKmForecast(readings: readonly OdometerReading[], today: string): number | null {
  const recent = readings.filter((r) => daysBetween(r.on, today) <= RECENT_DAYS).sort((a, b) => a.on.localeCompare(b.on));
  const rates: number[] = [];
  for (let i = 0; i < recent.length; i++) {
    for (let j = i + 1; j < recent.length; j++) {
      const days = daysBetween(recent[i].on, recent[j].on);
      if (days < 1) continue;
      const rate = (recent[j].km - recent[i].km) / days;
      if (rate >= 0 && rate <= MAX_DAILY_KM) rates.push(rate);
    }
  }
  return rates.length ? median(rates) : null;
}

/** The service interval of a model: its own when the plan names it, else the plan's. */
export function serviceInterval(plan: YearsPlan['maintenance'], model: string, servicesDone: number): ServiceInterval {
  const own = plan.models.find((m) => m.model === model);
  const pick = own ?? plan;
  return servicesDone === 0 ? pick.first : pick.every;
}

/**
 * When the next maintenance is due: `months` after the last service (or the delivery), or the day
 * the forecast daily distance adds up to `km` since then, whichever comes first.
 */
export function maintenanceDueOn(input: {
  interval: ServiceInterval;
  lastServiceOn: string;
  readings: readonly OdometerReading[];
  today: string;
}): { dueOn: string; by: 'time' | 'mileage' } {
  const byTime = addMonths(input.lastServiceOn, input.interval.months);
  const rate = dailyKmForecast(input.readings, input.today);
  if (!rate) return { dueOn: byTime, by: 'time' };
  const byMileage = addLocalDays(input.lastServiceOn, Math.ceil(input.interval.km / rate));
  return byMileage < byTime ? { dueOn: byMileage, by: 'mileage' } : { dueOn: byTime, by: 'time' };
}

/** Adds a reading (the newest replaces one of the same day), keeping the most recent MAX_READINGS. */
export function withReading(readings: readonly OdometerReading[], reading: OdometerReading): OdometerReading[] {
  return [...readings.filter((r) => r.on !== reading.on), reading].sort((a, b) => a.on.localeCompare(b.on)).slice(-MAX_READINGS);
}

/** The next occurrence of a yearly date ("MM-DD" or "YYYY-MM-DD") on or after `from`; 29 February is the 28th in other years. */
export function nextYearly(date: string, from: string): string {
  const [month, day] = date.slice(-5).split('-').map(Number);
  const fromYear = Number(from.slice(0, 4));
  for (const year of [fromYear, fromYear + 1]) {
    const leap = DateTime.fromObject({ year, month, day }, { zone: 'utc' });
    const on = (leap.isValid ? leap : DateTime.fromObject({ year, month, day: day - 1 }, { zone: 'utc' })).toISODate()!;
    if (on >= from) return on;
  }
  throw new RangeError(`no yearly date for ${date}`);
}

/** A dated kind's due date on or after `from`, rolling on by `everyMonths` from a known date. */
function rollForward(knownOn: string, everyMonths: number, from: string): string {
  let on = knownOn;
  while (on < from) on = addMonths(on, everyMonths);
  return on;
}

export interface YearsContext {
  plan: YearsPlan;
  model: string;
  deliveredOn: string;
  timeZone: string;
  customerWindow: ContactWindow;
}

/** A kind's due date on or after `after` (a local date), or null when the vehicle's data gives it none. */
function dueOnOrAfter(kind: Exclude<YearsKind, 'post-service'>, s: YearsState, ctx: YearsContext, after: string): string | null {
  switch (kind) {
    case 'maintenance': {
      const interval = serviceInterval(ctx.plan.maintenance, ctx.model, s.servicesDone);
      return maintenanceDueOn({ interval, lastServiceOn: s.lastServiceOn, readings: s.readings, today: after }).dueOn;
    }
    case 'insurance':
      return s.insuranceExpiresOn ? rollForward(s.insuranceExpiresOn, 12, after) : null;
    case 'inspection':
      return s.inspectionDueOn ? rollForward(s.inspectionDueOn, ctx.plan.inspection.everyMonths, after) : null;
    case 'licence':
      return s.licenceExpiresOn ? rollForward(s.licenceExpiresOn, ctx.plan.licence.everyMonths, after) : null;
    case 'birthday':
      return s.birthday ? nextYearly(s.birthday, after) : null;
    case 'anniversary':
      // The delivery day itself is no anniversary.
      return nextYearly(ctx.deliveredOn, after > ctx.deliveredOn ? after : addLocalDays(ctx.deliveredOn, 1));
  }
}

/** The cycle a kind is in from `after` on; maintenance cycles are numbered, the others named by their date. */
function cycleAfter(kind: Exclude<YearsKind, 'post-service'>, s: YearsState, ctx: YearsContext, after: string): YearsCycle | null {
  const dueOn = dueOnOrAfter(kind, s, ctx, after);
  if (!dueOn) return null;
  return { key: kind === 'maintenance' ? `maintenance-${s.servicesDone + 1}` : `${kind}-${dueOn}`, kind, dueOn, taken: [] };
}

const ROLLING_KINDS: Exclude<YearsKind, 'post-service'>[] = ['maintenance', 'insurance', 'inspection', 'licence', 'birthday', 'anniversary'];

/** The years' first state, from the vehicle's data. */
export function initialYearsState(facts: VehicleFacts, ctx: YearsContext, startedAt: Date): YearsState {
  const today = localDateOf(startedAt, ctx.timeZone);
  const readings = [{ on: ctx.deliveredOn, km: facts.deliveryOdometerKm ?? 0 }, ...(facts.readings ?? [])].reduce<OdometerReading[]>(withReading, []);
  const s: YearsState = {
    startedAt: startedAt.toISOString(),
    cycles: [],
    readings,
    lastServiceOn: facts.lastServiceOn ?? ctx.deliveredOn,
    servicesDone: facts.servicesDone ?? (facts.lastServiceOn ? 1 : 0),
    insuranceExpiresOn: facts.insuranceExpiresOn,
    inspectionDueOn: facts.inspectionDueOn,
    licenceExpiresOn: facts.licenceExpiresOn,
    birthday: facts.birthday,
    openCalls: {},
  };
  // A cycle due shortly before today still takes its touches not yet past their window.
  for (const kind of ROLLING_KINDS) {
    const c = cycleAfter(kind, s, ctx, kind === 'maintenance' ? today : addLocalDays(today, -lastTouchDay(ctx.plan[kind].touches)));
    // A service already overdue (an imported vehicle) is due today: one call now, not reminders for dates gone.
    if (c?.kind === 'maintenance' && c.dueOn < today) c.dueOn = today;
    if (c) s.cycles.push(c);
  }
  return s;
}

/** The last day (offset from the due date) on which a kind's touches can still happen. */
function lastTouchDay(touches: readonly YearsTouch[]): number {
  return Math.max(0, ...touches.map((t) => t.offsetDays + (t.kind === 'call' ? t.windowDays - 1 : t.notAfterDays)));
}

export interface DueTouch {
  cycle: YearsCycle;
  index: number;
  touch: YearsTouch;
  /** The step key of this touch: unique per delivery. */
  key: string;
  /** When it may first happen (messages) or the call's required window opens. */
  at: Date;
  /** The call's required window closes, or the message's "not after". */
  until: Date;
}

/** A touch's dated window for the customer's hours. */
export function touchWindow(cycle: YearsCycle, touch: YearsTouch, ctx: Pick<YearsContext, 'timeZone' | 'customerWindow'>): { at: Date; until: Date } {
  const day = addLocalDays(cycle.dueOn, touch.offsetDays);
  const lastDay = addLocalDays(day, touch.kind === 'call' ? touch.windowDays - 1 : touch.notAfterDays);
  return { at: windowOnLocalDay(day, ctx.customerWindow, ctx.timeZone).start, until: windowOnLocalDay(lastDay, ctx.customerWindow, ctx.timeZone).end };
}

/** The touches of a kind's plan. */
export function touchesOf(plan: YearsPlan, kind: YearsKind): readonly YearsTouch[] {
  return kind === 'post-service' ? plan.postService.touches : plan[kind].touches;
}

/**
 * The next touch not yet taken, earliest first, or null when nothing is planned. A booked service
 * holds its cycle's touches until BOOKING_GRACE_DAYS after the booked day.
 */
export function nextDueTouch(s: YearsState, ctx: YearsContext): DueTouch | null {
  let best: DueTouch | null = null;
  for (const cycle of s.cycles) {
    touchesOf(ctx.plan, cycle.kind).forEach((touch, index) => {
      if (cycle.taken.includes(index)) return;
      let { at, until } = touchWindow(cycle, touch, ctx);
      if (cycle.bookedFor) {
        const held = windowOnLocalDay(addLocalDays(cycle.bookedFor, BOOKING_GRACE_DAYS), ctx.customerWindow, ctx.timeZone).start;
        if (held > at) at = held;
        if (at > until) until = at;
      }
      if (!best || at < best.at) best = { cycle, index, touch, key: `${cycle.key}-${index + 1}`, at, until };
    });
  }
  return best;
}

/**
 * What happens to a touch reached at `now`: taken, or skipped because its time had passed before
 * the years were planned (an imported vehicle's old dates: never owed, so no flood of messages and
 * no missed calls), or because a booked service held it past its window.
 */
export function touchDisposition(due: DueTouch, s: YearsState, now: Date): 'take' | 'skip' {
  if (due.until.getTime() < Date.parse(s.startedAt)) return 'skip';
  if (due.cycle.bookedFor && due.touch.kind === 'message') return 'skip';
  return due.until.getTime() < now.getTime() && due.touch.kind === 'call' ? 'skip' : 'take';
}

/** A maintenance cycle with nothing left to do this long after its due date was presumably served elsewhere. */
export const MAINTENANCE_LAPSES_AFTER_DAYS = 60;

/** What became of a cycle, for its KPI row. */
export interface CycleChange {
  cycle: YearsCycle;
  /**
   * reminded: a reminder reached the customer; booked: a service booked; done: the customer came
   * (a visit) or renewed (the policy, inspection, licence); lapsed: over without it.
   */
  change: 'reminded' | 'booked' | 'done' | 'lapsed';
  at: string;
}

/**
 * Moves each kind whose cycle is over to its next: once every touch is taken and the due date is
 * past (a maintenance cycle only MAINTENANCE_LAPSES_AFTER_DAYS later, still waiting for the visit
 * until then). Changes `s` in place; answers the cycles that ended.
 */
export function rollCycles(s: YearsState, ctx: YearsContext, now: Date): CycleChange[] {
  const today = localDateOf(now, ctx.timeZone);
  const ended: CycleChange[] = [];
  for (const cycle of [...s.cycles]) {
    const allTaken = touchesOf(ctx.plan, cycle.kind).every((_, i) => cycle.taken.includes(i));
    const over = cycle.kind === 'maintenance' ? addLocalDays(cycle.dueOn, MAINTENANCE_LAPSES_AFTER_DAYS) < today : cycle.dueOn < today;
    if (!allTaken || !over) continue;
    s.cycles.splice(s.cycles.indexOf(cycle), 1);
    ended.push({ cycle, change: 'lapsed', at: now.toISOString() });
    if (cycle.kind === 'post-service') continue;
    if (cycle.kind === 'maintenance') {
      s.lastServiceOn = cycle.dueOn;
      s.servicesDone++;
    }
    const next = cycleAfter(cycle.kind, s, ctx, addLocalDays(cycle.dueOn, 1));
    if (next) s.cycles.push(next);
  }
  return ended;
}

/** When the next cycle is over (rollCycles then moves its kind on), or null. */
export function nextRollAt(s: YearsState, ctx: YearsContext): Date | null {
  let earliest: Date | null = null;
  for (const cycle of s.cycles) {
    if (!touchesOf(ctx.plan, cycle.kind).every((_, i) => cycle.taken.includes(i))) continue;
    const lastDay = cycle.kind === 'maintenance' ? addLocalDays(cycle.dueOn, MAINTENANCE_LAPSES_AFTER_DAYS) : cycle.dueOn;
    const at = windowOnLocalDay(addLocalDays(lastDay, 1), ctx.customerWindow, ctx.timeZone).start;
    if (!earliest || at < earliest) earliest = at;
  }
  return earliest;
}

/** What the DMS reports about the vehicle (dates are the store's local dates, YYYY-MM-DD). */
export type VehicleEvent =
  | { kind: 'service-booked'; bookedFor: string }
  /** maintenance: a periodic service (定保), which starts the next interval; any visit gets the satisfaction call. */
  | { kind: 'service-visit'; visitedOn: string; odometerKm?: number; maintenance: boolean; work?: string[] }
  | { kind: 'odometer'; readOn: string; km: number }
  | { kind: 'insurance-renewed'; expiresOn: string }
  | { kind: 'inspection-passed'; nextDueOn: string }
  | { kind: 'licence-renewed'; expiresOn: string }
  /** What the DMS learns about the owner later: a birthday ("MM-DD" or a date), a licence's expiry. */
  | { kind: 'owner-details'; birthday?: string; licenceExpiresOn?: string };

/** The most an odometer can show (the API's bound too). */
export const MAX_ODOMETER_KM = 2_000_000;
const LOCAL_DATE = /^(20\d\d|2100)-\d\d-\d\d$/;

/** Why the workflow could not apply this event, or null; the API refuses such events with a 400 first. */
export function vehicleEventProblem(e: VehicleEvent): string | null {
  if (e.kind === 'owner-details' && e.birthday !== undefined && !/^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(e.birthday)) return 'birthday must be MM-DD or YYYY-MM-DD';
  const dates = Object.entries(e).filter(([field]) => field.endsWith('On') || field === 'bookedFor');
  for (const [field, value] of dates) {
    if (typeof value !== 'string' || !LOCAL_DATE.test(value) || !DateTime.fromISO(value).isValid) return `${field} must be a date YYYY-MM-DD between 2000 and 2100`;
  }
  for (const field of ['km', 'odometerKm'] as const) {
    const km = (e as Record<string, unknown>)[field];
    if (km !== undefined && !(Number.isInteger(km) && (km as number) >= 0 && (km as number) <= MAX_ODOMETER_KM)) return `${field} must be a whole number of km from 0 to ${MAX_ODOMETER_KM}`;
  }
  return null;
}

/** Why the workflow could not plan from these facts, or null (the API and the importer check them first with zod). */
export function vehicleFactsProblem(f: VehicleFacts): string | null {
  const dated = { lastServiceOn: f.lastServiceOn, insuranceExpiresOn: f.insuranceExpiresOn, inspectionDueOn: f.inspectionDueOn, licenceExpiresOn: f.licenceExpiresOn };
  for (const [field, value] of Object.entries(dated)) {
    if (value !== undefined && !(LOCAL_DATE.test(value) && DateTime.fromISO(value).isValid)) return `vehicle.${field} must be a date YYYY-MM-DD between 2000 and 2100`;
  }
  if (f.birthday !== undefined && !/^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(f.birthday)) return 'vehicle.birthday must be MM-DD or YYYY-MM-DD';
  const kms = [f.deliveryOdometerKm, ...(f.readings ?? []).map((r) => r.km)];
  if (kms.some((km) => km !== undefined && !(Number.isInteger(km) && km >= 0 && km <= MAX_ODOMETER_KM))) return `vehicle odometer readings must be whole km from 0 to ${MAX_ODOMETER_KM}`;
  if ((f.readings ?? []).some((r) => !(LOCAL_DATE.test(r.on) && DateTime.fromISO(r.on).isValid))) return 'vehicle.readings dates must be YYYY-MM-DD between 2000 and 2100';
  return null;
}

function replaceCycle(s: YearsState, ctx: YearsContext, kind: Exclude<YearsKind, 'post-service'>, today: string, at: string, ended: CycleChange[]): void {
  const current = s.cycles.find((c) => c.kind === kind);
  if (current) {
    s.cycles.splice(s.cycles.indexOf(current), 1);
    ended.push({ cycle: current, change: 'done', at });
  }
  const next = cycleAfter(kind, s, ctx, today);
  if (next) s.cycles.push(next);
}

/**
 * Applies a DMS event: re-plans the kinds it concerns. Changes `s` in place; answers the cycles it
 * booked or ended, for their KPI rows. Safe to apply twice (a retried request).
 */
export function applyVehicleEvent(s: YearsState, ctx: YearsContext, e: VehicleEvent, now: Date): CycleChange[] {
  const today = localDateOf(now, ctx.timeZone);
  const at = now.toISOString();
  const changes: CycleChange[] = [];
  const maintenance = () => s.cycles.find((c) => c.kind === 'maintenance');
  const replan = () => {
    const m = maintenance();
    const dueOn = dueOnOrAfter('maintenance', s, ctx, today);
    if (m && dueOn) m.dueOn = dueOn;
  };
  switch (e.kind) {
    case 'service-booked': {
      const m = maintenance();
      if (m && m.bookedFor !== e.bookedFor) {
        m.bookedFor = e.bookedFor;
        changes.push({ cycle: m, change: 'booked', at });
      }
      break;
    }
    case 'odometer':
      s.readings = withReading(s.readings, { on: e.readOn, km: e.km });
      replan();
      break;
    case 'service-visit': {
      if (e.odometerKm !== undefined) s.readings = withReading(s.readings, { on: e.visitedOn, km: e.odometerKm });
      const postKey = `post-service-${e.visitedOn}`;
      if (s.cycles.some((c) => c.key === postKey)) break; // the same visit again
      s.cycles.push({ key: postKey, kind: 'post-service', dueOn: e.visitedOn, taken: [] });
      if (e.maintenance && e.visitedOn > s.lastServiceOn) {
        s.lastServiceOn = e.visitedOn;
        s.servicesDone++;
        replaceCycle(s, ctx, 'maintenance', today, at, changes);
      } else {
        replan();
      }
      break;
    }
    case 'insurance-renewed':
      if (s.insuranceExpiresOn === e.expiresOn) break;
      s.insuranceExpiresOn = e.expiresOn;
      replaceCycle(s, ctx, 'insurance', today, at, changes);
      break;
    case 'inspection-passed':
      if (s.inspectionDueOn === e.nextDueOn) break;
      s.inspectionDueOn = e.nextDueOn;
      replaceCycle(s, ctx, 'inspection', today, at, changes);
      break;
    case 'licence-renewed':
      if (s.licenceExpiresOn === e.expiresOn) break;
      s.licenceExpiresOn = e.expiresOn;
      replaceCycle(s, ctx, 'licence', today, at, changes);
      break;
    case 'owner-details':
      // New facts, not renewals: the kinds are planned afresh, with no KPI row of their own.
      if (e.birthday && e.birthday.slice(-5) !== s.birthday?.slice(-5)) {
        s.birthday = e.birthday;
        s.cycles = s.cycles.filter((c) => c.kind !== 'birthday');
        const next = cycleAfter('birthday', s, ctx, today);
        if (next) s.cycles.push(next);
      }
      if (e.licenceExpiresOn && e.licenceExpiresOn !== s.licenceExpiresOn) {
        s.licenceExpiresOn = e.licenceExpiresOn;
        s.cycles = s.cycles.filter((c) => c.kind !== 'licence');
        const next = cycleAfter('licence', s, ctx, today);
        if (next) s.cycles.push(next);
      }
      break;
  }
  return changes;
}

/** Each kind's next due date, for the API's answer and the state query. */
export function upcoming(s: YearsState): { kind: YearsKind; key: string; dueOn: string; bookedFor?: string }[] {
  return [...s.cycles]
    .sort((a, b) => a.dueOn.localeCompare(b.dueOn))
    .map((c) => ({ kind: c.kind, key: c.key, dueOn: c.dueOn, ...(c.bookedFor && { bookedFor: c.bookedFor }) }));
}
