/**
 * Working time: a store's opening hours per weekday, its public holidays, and the make-up working
 * days (调休) that Chinese holiday schedules move onto weekends. Case deadlines count in it
 * (DOMAIN.md section 5): "4 working hours" after a Friday 17:00 opening ends on Monday afternoon.
 * All maths in the store's time zone; minutes are real elapsed minutes, so a daylight-saving day
 * counts what the clock on the wall really gave.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { boundedDate } from './dates';
import { safeText } from './text';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

export const OpeningHoursDaySchema = z
  .object({ start: z.string().regex(HHMM, 'HH:MM'), end: z.string().regex(HHMM, 'HH:MM (24:00 for midnight)') })
  .refine((d) => d.start < d.end, { message: 'end must come after start (hours may not cross midnight)', path: ['end'] })
  .nullable();

/** Seven days, Monday first (luxon's weekday 1..7); null: closed. */
export const OpeningHoursSchema = z
  .array(OpeningHoursDaySchema)
  .length(7, 'seven days, Monday first')
  .refine((days) => days.some((d) => d !== null), { message: 'open on at least one weekday' });
export type OpeningHours = z.infer<typeof OpeningHoursSchema>;

const CalendarDaySchema = z.strictObject({ date: boundedDate(), name: safeText(60) });
export type CalendarDay = z.infer<typeof CalendarDaySchema>;

/** One year's holidays and make-up working days; every date must lie in that year, none in both lists. */
export const YearCalendarSchema = (year: number) =>
  z
    .strictObject({ holidays: z.array(CalendarDaySchema).max(60), workdays: z.array(CalendarDaySchema).max(30) })
    .superRefine((c, ctx) => {
      for (const list of ['holidays', 'workdays'] as const) {
        c[list].forEach((d, i) => {
          if (!d.date.startsWith(`${year}-`)) ctx.addIssue({ code: 'custom', path: [list, i, 'date'], message: `must lie in ${year}` });
        });
      }
      const holidays = new Set(c.holidays.map((d) => d.date));
      c.workdays.forEach((d, i) => {
        if (holidays.has(d.date)) ctx.addIssue({ code: 'custom', path: ['workdays', i, 'date'], message: 'is also a holiday' });
      });
    });
export type YearCalendar = { holidays: CalendarDay[]; workdays: CalendarDay[] };

/** The CR desk's default hours: weekdays 09:00-18:00, closed at weekends. */
export const DEFAULT_OPENING_HOURS: OpeningHours = [
  ...Array.from({ length: 5 }, () => ({ start: '09:00', end: '18:00' })),
  null,
  null,
];

/**
 * Mainland China's public holidays and make-up working days, from the State Council's notice
 * (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04). A store may replace a year with its own.
 */
export const CHINA_CALENDARS: Readonly<Record<number, YearCalendar>> = {
  2026: {
    holidays: [
      ...days('元旦', '2026-01-01', 3),
      ...days('春节', '2026-02-15', 9),
      ...days('清明节', '2026-04-04', 3),
      ...days('劳动节', '2026-05-01', 5),
      ...days('端午节', '2026-06-19', 3),
      ...days('中秋节', '2026-09-25', 3),
      ...days('国庆节', '2026-10-01', 7),
    ],
    workdays: [
      { date: '2026-01-04', name: '元旦调休' },
      { date: '2026-02-14', name: '春节调休' },
      { date: '2026-02-28', name: '春节调休' },
      { date: '2026-05-09', name: '劳动节调休' },
      { date: '2026-09-20', name: '国庆节调休' },
      { date: '2026-10-10', name: '国庆节调休' },
    ],
  },
};

function days(name: string, first: string, count: number): CalendarDay[] {
  const start = DateTime.fromISO(first, { zone: 'UTC' });
  return Array.from({ length: count }, (_, i) => ({ date: start.plus({ days: i }).toISODate()!, name }));
}

/** Everything working-time maths needs about a store. `years` holds the calendars that apply (a store's own or the default). */
export interface WorkingCalendar {
  timeZone: string;
  openingHours: OpeningHours;
  years: Readonly<Record<number, YearCalendar>>;
}

/** What a local date is: a holiday (closed), a make-up working day, or an ordinary day of its weekday. */
function hoursOn(cal: WorkingCalendar, day: DateTime, index: { holidays: Set<string>; workdays: Set<string> }) {
  const date = day.toISODate()!;
  if (index.holidays.has(date)) return null;
  // A make-up day is worked like an ordinary working day: Monday's hours, or the first open weekday's.
  if (index.workdays.has(date)) return cal.openingHours[day.weekday - 1] ?? cal.openingHours.find((d) => d !== null) ?? null;
  return cal.openingHours[day.weekday - 1];
}

function indexOf(cal: WorkingCalendar) {
  const holidays = new Set<string>();
  const workdays = new Set<string>();
  for (const y of Object.values(cal.years)) {
    y.holidays.forEach((d) => holidays.add(d.date));
    y.workdays.forEach((d) => workdays.add(d.date));
  }
  return { holidays, workdays };
}

function at(day: DateTime, hhmm: string): DateTime {
  if (hhmm === '24:00') return day.plus({ days: 1 }).startOf('day');
  const [hour, minute] = hhmm.split(':').map(Number);
  return day.set({ hour, minute, second: 0, millisecond: 0 });
}

/** A calendar that never opens could loop forever: three years without an open minute is an error. */
const MAX_DAYS = 3 * 366;

/**
 * The instant `minutes` working minutes after `from`. Time outside the opening hours, on holidays
 * and on closed weekdays does not count; make-up working days do. Zero minutes from a closed time
 * is the next opening.
 */
export function addWorkingMinutes(from: Date, minutes: number, cal: WorkingCalendar): Date {
  if (!Number.isFinite(minutes) || minutes < 0) throw new RangeError(`minutes must be a non-negative number, got ${minutes}`);
  const index = indexOf(cal);
  let remainingMs = minutes * 60_000;
  const start = DateTime.fromJSDate(from, { zone: cal.timeZone });
  let day = start.startOf('day');
  for (let i = 0; i < MAX_DAYS; i++, day = day.plus({ days: 1 }).startOf('day')) {
    const hours = hoursOn(cal, day, index);
    if (!hours) continue;
    const open = DateTime.max(at(day, hours.start), start);
    const close = at(day, hours.end);
    const available = close.toMillis() - open.toMillis();
    if (available < 0) continue;
    if (remainingMs <= available) return new Date(open.toMillis() + remainingMs);
    remainingMs -= available;
  }
  throw new RangeError(`the calendar of ${cal.timeZone} has no working time within ${MAX_DAYS} days`);
}

/** The calendars a computation starting in `year` may run into: that year and the next. */
export function yearsAround(from: Date, timeZone: string): number[] {
  const year = DateTime.fromJSDate(from, { zone: timeZone }).year;
  return [year, year + 1];
}
