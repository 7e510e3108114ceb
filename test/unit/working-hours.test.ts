import { DateTime } from 'luxon';
import {
  addWorkingMinutes,
  CHINA_CALENDARS,
  DEFAULT_OPENING_HOURS,
  OpeningHoursSchema,
  WorkingCalendar,
  YearCalendarSchema,
} from '../../src/domain/working-hours';

const SHANGHAI: WorkingCalendar = { timeZone: 'Asia/Shanghai', openingHours: DEFAULT_OPENING_HOURS, years: CHINA_CALENDARS };

const local = (iso: string, zone = 'Asia/Shanghai') => DateTime.fromISO(iso, { zone }).toJSDate();
const show = (at: Date, zone = 'Asia/Shanghai') => DateTime.fromJSDate(at, { zone }).toFormat("yyyy-MM-dd HH:mm ccc");

describe('adding working minutes in Asia/Shanghai (no daylight saving)', () => {
  it('stays inside one working day', () => {
    expect(show(addWorkingMinutes(local('2026-11-24T10:00'), 240, SHANGHAI))).toBe('2026-11-24 14:00 Tue');
  });

  it('carries over the night to the next morning', () => {
    expect(show(addWorkingMinutes(local('2026-11-24T16:00'), 240, SHANGHAI))).toBe('2026-11-25 11:00 Wed');
  });

  it('carries over a weekend', () => {
    expect(show(addWorkingMinutes(local('2026-11-27T17:00'), 240, SHANGHAI))).toBe('2026-11-30 12:00 Mon');
  });

  it('starts counting at the next opening when opened at night or on a weekend', () => {
    expect(show(addWorkingMinutes(local('2026-11-28T22:00'), 60, SHANGHAI))).toBe('2026-11-30 10:00 Mon');
    expect(show(addWorkingMinutes(local('2026-11-24T06:30'), 0, SHANGHAI))).toBe('2026-11-24 09:00 Tue');
  });

  it('skips the National Day week and works the make-up Saturday after it', () => {
    // Opened on Wednesday 30 September at 17:00: 1 hour that day, then 1-7 October are holidays,
    // Thursday 8 and Friday 9 are ordinary days, Saturday 10 October is a make-up working day.
    const from = local('2026-09-30T17:00');
    expect(show(addWorkingMinutes(from, 60, SHANGHAI))).toBe('2026-09-30 18:00 Wed');
    expect(show(addWorkingMinutes(from, 120, SHANGHAI))).toBe('2026-10-08 10:00 Thu');
    expect(show(addWorkingMinutes(from, 60 + 9 * 60 * 2 + 60, SHANGHAI))).toBe('2026-10-10 10:00 Sat');
  });

  it('works the Sunday before National Day (调休) and a holiday-free Sunday not', () => {
    expect(show(addWorkingMinutes(local('2026-09-19T12:00'), 60, SHANGHAI))).toBe('2026-09-20 10:00 Sun');
    expect(show(addWorkingMinutes(local('2026-09-12T12:00'), 60, SHANGHAI))).toBe('2026-09-14 10:00 Mon');
  });

  it('spans the Spring Festival: make-up Saturday 14 February, then nine days off', () => {
    expect(show(addWorkingMinutes(local('2026-02-13T17:00'), 120, SHANGHAI))).toBe('2026-02-14 10:00 Sat');
    expect(show(addWorkingMinutes(local('2026-02-14T17:00'), 120, SHANGHAI))).toBe('2026-02-24 10:00 Tue');
  });

  it('follows a store that replaced the year with its own calendar', () => {
    const own: WorkingCalendar = { ...SHANGHAI, years: { 2026: { holidays: [{ date: '2026-11-30', name: '店庆' }], workdays: [] } } };
    expect(show(addWorkingMinutes(local('2026-11-27T17:00'), 240, own))).toBe('2026-12-01 12:00 Tue');
  });

  it('counts a store open every day until midnight', () => {
    const always: WorkingCalendar = { timeZone: 'Asia/Shanghai', openingHours: Array(7).fill({ start: '00:00', end: '24:00' }), years: {} };
    expect(show(addWorkingMinutes(local('2026-11-28T23:30'), 60, always))).toBe('2026-11-29 00:30 Sun');
  });
});

describe('adding working minutes in a daylight-saving zone (Europe/Berlin)', () => {
  const berlin: WorkingCalendar = { timeZone: 'Europe/Berlin', openingHours: Array(7).fill({ start: '00:00', end: '24:00' }), years: {} };

  it('counts the real hour lost when the clocks go forward', () => {
    // 29 March 2026: 02:00 jumps to 03:00, so that local day has 23 hours.
    const from = local('2026-03-29T00:30', 'Europe/Berlin');
    expect(show(addWorkingMinutes(from, 120, berlin), 'Europe/Berlin')).toBe('2026-03-29 03:30 Sun');
  });

  it('keeps office hours in local time across the change', () => {
    const office: WorkingCalendar = { ...berlin, openingHours: DEFAULT_OPENING_HOURS };
    // Friday 27 March 17:00 CET, 2 working hours: Monday 30 March 10:00 CEST.
    expect(show(addWorkingMinutes(local('2026-03-27T17:00', 'Europe/Berlin'), 120, office), 'Europe/Berlin')).toBe('2026-03-30 10:00 Mon');
  });
});

describe('calendar input', () => {
  it('refuses a calendar that is never open, and hours that end before they start', () => {
    expect(OpeningHoursSchema.safeParse(Array(7).fill(null)).success).toBe(false);
    const bad = OpeningHoursSchema.safeParse([{ start: '18:00', end: '09:00' }, ...Array(6).fill(null)]);
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual([0, 'end']);
  });

  it('names the date that lies outside the year, or is both a holiday and a working day', () => {
    const parsed = YearCalendarSchema(2026).safeParse({
      holidays: [{ date: '2027-01-01', name: '元旦' }, { date: '2026-10-10', name: 'x' }],
      workdays: [{ date: '2026-10-10', name: '国庆节调休' }],
    });
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['holidays.0.date', 'workdays.0.date']);
  });

  it('holds the official 2026 schedule: 33 holidays, 6 make-up working days, all weekends', () => {
    const { holidays, workdays } = CHINA_CALENDARS[2026];
    expect(holidays).toHaveLength(33);
    expect(workdays.map((d) => DateTime.fromISO(d.date).weekday).every((w) => w >= 6)).toBe(true);
    expect(YearCalendarSchema(2026).safeParse(CHINA_CALENDARS[2026]).success).toBe(true);
  });
});
