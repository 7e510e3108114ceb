import {
  addLocalDays,
  ContactWindow,
  ContactWindowSchema,
  DEFAULT_CUSTOMER_WINDOW,
  intersectWindows,
  isInsideWindow,
  isValidTimeZone,
  localDateOf,
  MARKETING_SMS_WINDOW,
  nextAllowedInstant,
  windowOnLocalDay,
} from '../../src/domain/contact-window';
import { DateTime } from 'luxon';

// Asia/Shanghai is UTC+8 all year. New York: EST (UTC-5) / EDT (UTC-4), clocks change on
// 2025-03-09 and 2025-11-02 at 02:00. Berlin: CET (UTC+1) / CEST (UTC+2), clocks change on
// 2025-03-30 at 02:00 and 2025-10-26 at 03:00. Expected instants below are converted by hand.
const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const NIGHT: ContactWindow = { start: '22:00', end: '06:00' };

const utc = (iso: string) => new Date(iso);

function issuePaths(input: unknown): string[] {
  const result = ContactWindowSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

describe('ContactWindowSchema', () => {
  it.each([
    ['the H-1 default', DEFAULT_CUSTOMER_WINDOW],
    ['the marketing SMS hours', MARKETING_SMS_WINDOW],
    ['a window 22:00-06:00 that crosses midnight', NIGHT],
    ['a window from midnight to the last minute of the day', { start: '00:00', end: '23:59' }],
  ])('accepts %s', (_name, window) => {
    expect(ContactWindowSchema.parse(window)).toEqual(window);
  });

  it('keeps the agreed defaults: customers 09:00-20:00, marketing SMS 08:00-21:00', () => {
    expect(DEFAULT_CUSTOMER_WINDOW).toEqual({ start: '09:00', end: '20:00' });
    expect(MARKETING_SMS_WINDOW).toEqual({ start: '08:00', end: '21:00' });
  });

  it('rejects a window that starts when it ends, naming end', () => {
    expect(issuePaths({ start: '09:00', end: '09:00' })).toEqual(['end']);
  });

  it.each(['24:00', '9:00', '12:60', '0900', '', '09:00:00'])('rejects the start time %j', (start) => {
    expect(issuePaths({ start, end: '20:00' })).toEqual(['start']);
  });

  it('rejects a window without an end', () => {
    expect(issuePaths({ start: '09:00' })).toEqual(['end']);
  });
});

describe('isValidTimeZone', () => {
  it.each([SHANGHAI, NEW_YORK, BERLIN, 'UTC'])('knows %s', (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
  });

  it.each(['Mars/Olympus', '', 'UTC+8', 'Beijing'])('does not know %j', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});

describe('isInsideWindow', () => {
  it.each([
    { local: '08:59:59', instant: '2025-06-03T00:59:59Z', inside: false },
    { local: '09:00, the start,', instant: '2025-06-03T01:00:00Z', inside: true },
    { local: '19:59:59', instant: '2025-06-03T11:59:59Z', inside: true },
    { local: '20:00, the end,', instant: '2025-06-03T12:00:00Z', inside: false },
  ])('with the default window, $local Shanghai time is inside: $inside', ({ instant, inside }) => {
    expect(isInsideWindow(utc(instant), DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe(inside);
  });

  it.each([
    { local: '22:00', instant: '2025-06-03T14:00:00Z', inside: true },
    { local: '23:30', instant: '2025-06-03T15:30:00Z', inside: true },
    { local: '05:59 the next morning', instant: '2025-06-03T21:59:00Z', inside: true },
    { local: '06:00 the next morning', instant: '2025-06-03T22:00:00Z', inside: false },
    { local: '12:00 noon', instant: '2025-06-04T04:00:00Z', inside: false },
  ])('a window 22:00-06:00 crosses midnight: $local Shanghai time is inside: $inside', ({ instant, inside }) => {
    expect(isInsideWindow(utc(instant), NIGHT, SHANGHAI)).toBe(inside);
  });

  it("reads the clock of the store's zone: 13:00 UTC is 21:00 in Shanghai but 09:00 in New York", () => {
    const at = utc('2025-06-01T13:00:00Z');
    expect(isInsideWindow(at, DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe(false);
    expect(isInsideWindow(at, DEFAULT_CUSTOMER_WINDOW, NEW_YORK)).toBe(true);
    expect(isInsideWindow(at, DEFAULT_CUSTOMER_WINDOW, BERLIN)).toBe(true);
  });

  it('refuses an unknown time zone', () => {
    expect(() => isInsideWindow(utc('2025-06-01T13:00:00Z'), NIGHT, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('nextAllowedInstant', () => {
  const next = (iso: string, w: ContactWindow, zone: string) => nextAllowedInstant(utc(iso), w, zone).toISOString();

  it('keeps an instant inside the window as it is, seconds included', () => {
    expect(next('2025-06-03T05:17:42.500Z', DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe('2025-06-03T05:17:42.500Z');
  });

  it('moves 07:15 Shanghai time (still the previous day in UTC) to 09:00 the same morning', () => {
    expect(next('2025-06-02T23:15:00Z', DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe('2025-06-03T01:00:00.000Z');
  });

  it('opens on the minute: 08:59:30 becomes 09:00:00', () => {
    expect(next('2025-06-03T00:59:30Z', DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe('2025-06-03T01:00:00.000Z');
  });

  it.each([
    ['20:00 on 3 June (closing time)', '2025-06-03T12:00:00Z'],
    ['23:59 on 3 June', '2025-06-03T15:59:00Z'],
    ['00:30 on 4 June', '2025-06-03T16:30:00Z'],
  ])('moves a request at %s, Shanghai time, to 09:00 on 4 June', (_local, instant) => {
    expect(next(instant, DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toBe('2025-06-04T01:00:00.000Z');
  });

  it('waits until 22:00 the same evening for a night window asked at noon or at 06:00', () => {
    expect(next('2025-06-03T04:00:00Z', NIGHT, SHANGHAI)).toBe('2025-06-03T14:00:00.000Z');
    expect(next('2025-06-02T22:00:00Z', NIGHT, SHANGHAI)).toBe('2025-06-03T14:00:00.000Z');
  });

  it('in New York, 20:30 on the eve of the spring clock change opens at 09:00 EDT, 23 hours on, not 24', () => {
    expect(next('2025-03-09T01:30:00Z', DEFAULT_CUSTOMER_WINDOW, NEW_YORK)).toBe('2025-03-09T13:00:00.000Z');
  });

  it('in New York, 21:00 on the eve of the autumn clock change opens at 09:00 EST, 13 hours on', () => {
    expect(next('2025-11-02T01:00:00Z', DEFAULT_CUSTOMER_WINDOW, NEW_YORK)).toBe('2025-11-02T14:00:00.000Z');
  });

  it('in Berlin, 21:00 CET on the eve of the spring clock change opens at 09:00 CEST', () => {
    expect(next('2025-03-29T20:00:00Z', DEFAULT_CUSTOMER_WINDOW, BERLIN)).toBe('2025-03-30T07:00:00.000Z');
  });

  it('in Berlin, a night window is open through the spring clock change and reopens at 22:00 CEST', () => {
    expect(next('2025-03-29T20:00:00Z', NIGHT, BERLIN)).toBe('2025-03-29T21:00:00.000Z');
    expect(next('2025-03-30T01:30:00Z', NIGHT, BERLIN)).toBe('2025-03-30T01:30:00.000Z');
    expect(next('2025-03-30T04:30:00Z', NIGHT, BERLIN)).toBe('2025-03-30T20:00:00.000Z');
  });

  it('reads a start time the spring clock skips as that long after the jump (02:30 -> 03:30 EDT)', () => {
    expect(next('2025-03-09T06:00:00Z', { start: '02:30', end: '05:00' }, NEW_YORK)).toBe(
      '2025-03-09T07:30:00.000Z',
    );
  });

  it('opens at the first of two 01:30s on the night the autumn clock repeats an hour', () => {
    expect(next('2025-11-02T04:30:00Z', { start: '01:30', end: '04:00' }, NEW_YORK)).toBe(
      '2025-11-02T05:30:00.000Z',
    );
  });

  it('reopens a window inside the repeated hour when the clock falls back into it', () => {
    // 01:45 EDT is past 01:00-01:30; at 02:00 EDT the clock shows 01:00 EST again.
    expect(next('2025-11-02T05:45:00Z', { start: '01:00', end: '01:30' }, NEW_YORK)).toBe(
      '2025-11-02T06:00:00.000Z',
    );
  });
});

describe('windowOnLocalDay', () => {
  const interval = (localDate: string, w: ContactWindow, zone: string) => {
    const { start, end } = windowOnLocalDay(localDate, w, zone);
    return { start: start.toISOString(), end: end.toISOString() };
  };

  it('gives 09:00-20:00 on 3 June in Shanghai as 01:00-12:00 UTC', () => {
    expect(interval('2025-06-03', DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toEqual({
      start: '2025-06-03T01:00:00.000Z',
      end: '2025-06-03T12:00:00.000Z',
    });
  });

  it('closes a window 22:00-06:00 that starts on 3 June at 06:00 on 4 June', () => {
    expect(interval('2025-06-03', NIGHT, SHANGHAI)).toEqual({
      start: '2025-06-03T14:00:00.000Z',
      end: '2025-06-03T22:00:00.000Z',
    });
  });

  it('closes a window 22:00-00:00 at the following midnight', () => {
    expect(interval('2025-06-03', { start: '22:00', end: '00:00' }, SHANGHAI)).toEqual({
      start: '2025-06-03T14:00:00.000Z',
      end: '2025-06-03T16:00:00.000Z',
    });
  });

  it('lasts 7 hours across the New York spring clock change (22:00 EST to 06:00 EDT)', () => {
    expect(interval('2025-03-08', NIGHT, NEW_YORK)).toEqual({
      start: '2025-03-09T03:00:00.000Z',
      end: '2025-03-09T10:00:00.000Z',
    });
  });

  it('lasts 9 hours across the Berlin autumn clock change (22:00 CEST to 06:00 CET)', () => {
    expect(interval('2025-10-25', NIGHT, BERLIN)).toEqual({
      start: '2025-10-25T20:00:00.000Z',
      end: '2025-10-26T05:00:00.000Z',
    });
  });

  it.each(['2025-02-30', '2025-6-3', '3 June 2025'])('refuses the local date %j', (localDate) => {
    expect(() => windowOnLocalDay(localDate, DEFAULT_CUSTOMER_WINDOW, SHANGHAI)).toThrow(RangeError);
  });

  it('refuses an unknown time zone', () => {
    expect(() => windowOnLocalDay('2025-06-03', DEFAULT_CUSTOMER_WINDOW, 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('localDateOf', () => {
  it('16:30 UTC on 3 June is already 4 June in Shanghai but still 3 June in New York and Berlin', () => {
    const at = utc('2025-06-03T16:30:00Z');
    expect(localDateOf(at, SHANGHAI)).toBe('2025-06-04');
    expect(localDateOf(at, NEW_YORK)).toBe('2025-06-03');
    expect(localDateOf(at, BERLIN)).toBe('2025-06-03');
  });

  it('new year comes to Shanghai at 16:00 UTC', () => {
    expect(localDateOf(utc('2025-12-31T16:00:00Z'), SHANGHAI)).toBe('2026-01-01');
    expect(localDateOf(utc('2025-12-31T15:59:59Z'), SHANGHAI)).toBe('2025-12-31');
  });
});

describe('addLocalDays', () => {
  it.each([
    ['2025-12-30', 3, '2026-01-02'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2025-02-28', 1, '2025-03-01'],
    ['2025-03-01', -1, '2025-02-28'],
    ['2025-03-08', 1, '2025-03-09'],
    ['2025-06-03', 0, '2025-06-03'],
  ])('%s plus %i days is %s', (localDate, days, expected) => {
    expect(addLocalDays(localDate, days)).toBe(expected);
  });

  it('refuses part days and malformed dates', () => {
    expect(() => addLocalDays('2025-06-03', 1.5)).toThrow(RangeError);
    expect(() => addLocalDays('2025-13-01', 1)).toThrow(RangeError);
    expect(() => addLocalDays('2025-04-31', 1)).toThrow(RangeError);
    expect(() => addLocalDays('2025-02-29', 1)).toThrow(RangeError);
    expect(() => addLocalDays('2025-6-03', 1)).toThrow(RangeError);
  });

  it('counts calendar days as luxon does, across leap years, centuries and the four-digit limit', () => {
    // Worked out by hand rather than by luxon (the workflow's first task spends its time there).
    for (const from of ['2000-02-28', '2024-12-31', '2100-02-28', '0099-12-31', '9999-12-30', '2025-03-31']) {
      for (const days of [-800, -366, -365, -1, 0, 1, 2, 30, 365, 366, 1000]) {
        expect(addLocalDays(from, days)).toBe(DateTime.fromISO(from, { zone: 'utc' }).plus({ days }).toISODate());
      }
    }
  });
});

describe('remembered showings', () => {
  it('answer alike however often, and keep zones and dates apart', () => {
    const first = [SHANGHAI, NEW_YORK, BERLIN].map((zone) => windowOnLocalDay('2025-11-02', { start: '01:30', end: '20:00' }, zone));
    const again = [SHANGHAI, NEW_YORK, BERLIN].map((zone) => windowOnLocalDay('2025-11-02', { start: '01:30', end: '20:00' }, zone));
    expect(again).toEqual(first);
    expect(new Set(first.map((w) => w.start.getTime())).size).toBe(3);
    // New York shows 01:30 twice that night (clocks went back at 02:00): the earlier one counts.
    expect(first[1].start.toISOString()).toBe('2025-11-02T05:30:00.000Z');
    expect(nextAllowedInstant(utc('2025-11-02T05:45:00Z'), { start: '01:30', end: '01:40' }, NEW_YORK).toISOString()).toBe('2025-11-02T06:30:00.000Z');
  });
});

describe('intersectWindows', () => {
  it.each<{ name: string; a: ContactWindow; b: ContactWindow; expected: ContactWindow | null }>([
    {
      name: 'the default window lies inside the SMS hours',
      a: DEFAULT_CUSTOMER_WINDOW,
      b: MARKETING_SMS_WINDOW,
      expected: DEFAULT_CUSTOMER_WINDOW,
    },
    {
      name: 'a wide window is cut to the SMS hours',
      a: { start: '07:00', end: '22:00' },
      b: MARKETING_SMS_WINDOW,
      expected: MARKETING_SMS_WINDOW,
    },
    {
      name: 'an early window keeps its overlap',
      a: { start: '06:00', end: '10:00' },
      b: MARKETING_SMS_WINDOW,
      expected: { start: '08:00', end: '10:00' },
    },
    {
      name: 'a night window has no daytime overlap',
      a: NIGHT,
      b: MARKETING_SMS_WINDOW,
      expected: null,
    },
    {
      name: 'windows that only touch at 08:00 do not overlap',
      a: { start: '06:00', end: '08:00' },
      b: MARKETING_SMS_WINDOW,
      expected: null,
    },
    {
      name: 'two night windows overlap across midnight',
      a: NIGHT,
      b: { start: '23:00', end: '07:00' },
      expected: { start: '23:00', end: '06:00' },
    },
    {
      name: 'an overlap may end at midnight',
      a: NIGHT,
      b: { start: '20:00', end: '00:00' },
      expected: { start: '22:00', end: '00:00' },
    },
    {
      name: 'an overlap may start at midnight',
      a: NIGHT,
      b: { start: '00:00', end: '08:00' },
      expected: { start: '00:00', end: '06:00' },
    },
    {
      name: 'of a 2-hour morning and a 1-hour evening piece, the morning wins',
      a: { start: '20:00', end: '10:00' },
      b: MARKETING_SMS_WINDOW,
      expected: { start: '08:00', end: '10:00' },
    },
    {
      name: 'of a 1-hour morning and a 2-hour evening piece, the evening wins',
      a: { start: '19:00', end: '09:00' },
      b: MARKETING_SMS_WINDOW,
      expected: { start: '19:00', end: '21:00' },
    },
  ])('$name', ({ a, b, expected }) => {
    expect(intersectWindows(a, b)).toEqual(expected);
    expect(intersectWindows(b, a)).toEqual(expected);
  });

  it('gives windows that pass the schema', () => {
    const result = intersectWindows(NIGHT, { start: '23:00', end: '07:00' });
    expect(ContactWindowSchema.safeParse(result).success).toBe(true);
  });
});
