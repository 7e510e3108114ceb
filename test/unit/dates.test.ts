import { boundedDate, boundedDateTime } from '../../src/domain/dates';

describe('boundedDateTime', () => {
  it.each(['2000-01-01T00:00:00Z', '2025-06-01T08:00:00+08:00', '2100-12-31T23:59:59Z'])('accepts %s', (v) => {
    expect(boundedDateTime().parse(v)).toBe(v);
  });

  it.each(['0000-01-01T00:00:00Z', '1900-01-01T00:00:00Z', '1999-12-31T23:59:59Z', '9999-12-31T23:59:59Z', '2101-01-01T00:00:00Z'])(
    'refuses %s as out of range',
    (v) => {
      expect(boundedDateTime().safeParse(v).error?.issues[0].message).toBe('must lie between 2000-01-01 and 2100-12-31');
    },
  );

  it.each(['2025-02-30T00:00:00Z', '2025-06-01T08:00:00', 'tomorrow', ''])('refuses %j as malformed', (v) => {
    expect(boundedDateTime().safeParse(v).success).toBe(false);
  });
});

describe('boundedDate', () => {
  it('accepts a leap day and refuses year 0', () => {
    expect(boundedDate().parse('2024-02-29')).toBe('2024-02-29');
    expect(boundedDate().safeParse('0000-01-01').success).toBe(false);
    expect(boundedDate().safeParse('2025-02-29').success).toBe(false);
  });
});
