/**
 * Local-time maths on contact windows: quiet hours, a window on a local day, the next opening.
 * Depends on luxon only (no zod), because the workflow bundle imports it: every module of that
 * bundle is evaluated again for each workflow a worker holds.
 */
import { DateTime, IANAZone } from 'luxon';

const MINUTES_PER_DAY = 24 * 60;

/** Local wall-clock hours "HH:MM"; `end` is exclusive, and `start > end` means the window crosses midnight. */
export interface ContactWindow {
  start: string;
  end: string;
}

/** H-1: the window when the customer gave none at delivery. */
export const DEFAULT_CUSTOMER_WINDOW: ContactWindow = { start: '09:00', end: '20:00' };
/** Chinese carriers accept marketing SMS only from 08:00 to 21:00 local time (DOMAIN.md section 7). */
export const MARKETING_SMS_WINDOW: ContactWindow = { start: '08:00', end: '21:00' };

/** A stretch of the day in minutes since local midnight; `to` may pass 1440 when it crosses midnight. */
type Arc = { from: number; to: number };

function minutesOfDay(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return hours * 60 + minutes;
}

function formatMinutesOfDay(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const ofDay = minutes % MINUTES_PER_DAY;
  return `${pad(Math.floor(ofDay / 60))}:${pad(ofDay % 60)}`;
}

function crossesMidnight(w: ContactWindow): boolean {
  return minutesOfDay(w.start) > minutesOfDay(w.end);
}

function containsMinuteOfDay(w: ContactWindow, minute: number): boolean {
  const start = minutesOfDay(w.start);
  const end = minutesOfDay(w.end);
  return crossesMidnight(w) ? minute >= start || minute < end : minute >= start && minute < end;
}

export function isValidTimeZone(timeZone: string): boolean {
  // IANAZone.create caches the zone and its validity; isValidZone builds an Intl.DateTimeFormat every call.
  return IANAZone.create(timeZone).isValid;
}

function assertTimeZone(timeZone: string): void {
  if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown IANA time zone: ${timeZone}`);
}

function inZone(at: Date, timeZone: string): DateTime<true> {
  assertTimeZone(timeZone);
  const local = DateTime.fromJSDate(at, { zone: timeZone });
  if (!local.isValid) throw new RangeError('invalid date');
  return local;
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A local date's parts, checked (no 31 April); by hand, as luxon's ISO parser is costly in every workflow's first task. */
function parseLocalDate(localDate: string): { year: number; month: number; day: number } {
  const m = LOCAL_DATE.exec(localDate);
  const [year, month, day] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  const utc = new Date(Date.UTC(2000, month - 1, day));
  utc.setUTCFullYear(year);
  if (!m || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) {
    throw new RangeError(`expected a local date YYYY-MM-DD, got ${localDate}`);
  }
  return { year, month, day };
}

/** Showings already worked out, by zone, date and time: a pure function of them, asked again and again. */
const showings = new Map<string, readonly number[]>();
const MAX_REMEMBERED_SHOWINGS = 10_000;

/**
 * The instants, earliest first, at which the store's clock shows `hhmm` on `localDate`: two when
 * autumn's clock change repeats that hour. A time skipped in spring is read as that long after
 * the jump (02:30 -> 03:30), as RFC 5545 and Temporal's "compatible" mode do.
 */
function showingsOfLocalTime(localDate: string, hhmm: string, timeZone: string): readonly number[] {
  const key = `${timeZone} ${localDate} ${hhmm}`;
  const known = showings.get(key);
  if (known) return known;
  assertTimeZone(timeZone);
  const { year, month, day } = parseLocalDate(localDate);
  const [hour, minute] = hhmm.split(':').map(Number);
  const local = DateTime.fromObject({ year, month, day, hour, minute }, { zone: timeZone });
  if (!local.isValid) throw new RangeError(`invalid local time ${localDate} ${hhmm}`);
  const found = local.getPossibleOffsets().map((t) => t.toMillis()).sort((a, b) => a - b);
  if (showings.size >= MAX_REMEMBERED_SHOWINGS) showings.clear();
  showings.set(key, found);
  return found;
}

function firstShowingOfLocalTime(localDate: string, hhmm: string, timeZone: string): Date {
  return new Date(showingsOfLocalTime(localDate, hhmm, timeZone)[0]);
}

export function localDateOf(at: Date, timeZone: string): string {
  return inZone(at, timeZone).toISODate();
}

export function addLocalDays(localDate: string, days: number): string {
  if (!Number.isInteger(days)) throw new RangeError(`expected a whole number of days, got ${days}`);
  const { year, month, day } = parseLocalDate(localDate);
  const date = new Date(Date.UTC(2000, month - 1, day + days));
  date.setUTCFullYear(year, month - 1, day + days);
  const y = date.getUTCFullYear();
  // Beyond four-digit years ISO 8601 writes a sign and six digits: luxon's format.
  if (y < 0 || y > 9999) return DateTime.fromMillis(date.getTime(), { zone: 'utc' }).toISODate()!;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(y, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

export function isInsideWindow(at: Date, w: ContactWindow, timeZone: string): boolean {
  const local = inZone(at, timeZone);
  return containsMinuteOfDay(w, local.hour * 60 + local.minute);
}

/** `at` itself when the window is open then, else the window's next opening (to the minute). */
export function nextAllowedInstant(at: Date, w: ContactWindow, timeZone: string): Date {
  if (isInsideWindow(at, w, timeZone)) return at;
  const today = localDateOf(at, timeZone);
  const laterToday = showingsOfLocalTime(today, w.start, timeZone).find((t) => t > at.getTime());
  return laterToday !== undefined ? new Date(laterToday) : firstShowingOfLocalTime(addLocalDays(today, 1), w.start, timeZone);
}

/** The window that opens on `localDate`; a window crossing midnight closes on the next day. */
export function windowOnLocalDay(
  localDate: string,
  w: ContactWindow,
  timeZone: string,
): { start: Date; end: Date } {
  const endDay = crossesMidnight(w) ? addLocalDays(localDate, 1) : localDate;
  return {
    start: firstShowingOfLocalTime(localDate, w.start, timeZone),
    end: firstShowingOfLocalTime(endDay, w.end, timeZone),
  };
}

/** A crossing window is two arcs of the same day: the evening part and the early-morning part. */
function arcsOf(w: ContactWindow): Arc[] {
  const start = minutesOfDay(w.start);
  const end = minutesOfDay(w.end);
  if (!crossesMidnight(w)) return [{ from: start, to: end }];
  return [
    { from: 0, to: end },
    { from: start, to: MINUTES_PER_DAY },
  ].filter((arc) => arc.from < arc.to);
}

function overlapsOf(a: Arc[], b: Arc[]): Arc[] {
  return a
    .flatMap((x) => b.map((y) => ({ from: Math.max(x.from, y.from), to: Math.min(x.to, y.to) })))
    .filter((arc) => arc.from < arc.to)
    .sort((x, y) => x.from - y.from);
}

/** An overlap that runs up to midnight and one that starts at midnight are one piece of time. */
function joinAcrossMidnight(arcs: Arc[]): Arc[] {
  const first = arcs[0];
  const last = arcs[arcs.length - 1];
  if (arcs.length < 2 || first.from !== 0 || last.to !== MINUTES_PER_DAY) return arcs;
  return [...arcs.slice(1, -1), { from: last.from, to: MINUTES_PER_DAY + first.to }];
}

/** The hours allowed by both windows, e.g. a customer's window within the store's sending hours. */
export function intersectWindows(a: ContactWindow, b: ContactWindow): ContactWindow | null {
  const pieces = joinAcrossMidnight(overlapsOf(arcsOf(a), arcsOf(b)));
  if (pieces.length === 0) return null;
  // Two windows can overlap in two separate pieces (a night-shift customer's 20:00-10:00 against
  // 08:00-21:00), but a window is one piece: keep the longer, the better chance of reaching them.
  const longest = pieces.reduce((best, arc) => (arc.to - arc.from > best.to - best.from ? arc : best));
  return { start: formatMinutesOfDay(longest.from), end: formatMinutesOfDay(longest.to) };
}
