import {
  csatMean,
  FOLLOW_UP_KPIS,
  KPI_KEYS,
  KpiKey,
  KpiTally,
  kpiValues,
  MAX_PERIOD_DAYS,
  npsScore,
  rankByRate,
  rate,
  resolvePeriod,
} from '../../src/domain/kpi';

// Asia/Shanghai is UTC+8 all year, so its local midnight is 16:00Z the day before.
// Europe/Berlin changes to CEST (UTC+2) on 2026-03-29.
const SHANGHAI = 'Asia/Shanghai';
const BERLIN = 'Europe/Berlin';

describe('rate', () => {
  it('is a percentage with one decimal', () => {
    expect(rate(3, 5)).toBe(60); // 3/5 = 60%
    expect(rate(2, 3)).toBe(66.7); // 66.666...% rounds down in the second decimal
    expect(rate(1, 3)).toBe(33.3);
    expect(rate(1, 8)).toBe(12.5);
    expect(rate(7, 7)).toBe(100);
    expect(rate(0, 9)).toBe(0);
  });

  it('rounds an exact half up (1/16 = 6.25% -> 6.3%)', () => {
    expect(rate(1, 16)).toBe(6.3);
    expect(rate(3, 16)).toBe(18.8); // 18.75%
  });

  it('is null, not 0 or 100, when nothing is in the denominator', () => {
    expect(rate(0, 0)).toBeNull();
  });
});

describe('npsScore', () => {
  it('is % promoters minus % detractors', () => {
    expect(npsScore(2, 1, 5)).toBe(20); // 40% - 20%
    expect(npsScore(3, 2, 7)).toBe(14.3); // 1/7 = 14.2857%
    expect(npsScore(1, 1, 2)).toBe(0);
    expect(npsScore(0, 4, 4)).toBe(-100);
  });

  it('rounds a negative half away from zero (-1/16 = -6.25 -> -6.3)', () => {
    expect(npsScore(0, 1, 16)).toBe(-6.3);
    expect(npsScore(1, 2, 3)).toBe(-33.3);
  });

  it('is null without responses', () => {
    expect(npsScore(0, 0, 0)).toBeNull();
  });
});

describe('csatMean', () => {
  it('averages the 1-5 answers to two decimals', () => {
    expect(csatMean(14, 4)).toBe(3.5); // (5+4+2+3)/4
    expect(csatMean(23, 6)).toBe(3.83); // 3.8333
    expect(csatMean(11, 3)).toBe(3.67); // 3.6666
    expect(csatMean(0, 0)).toBeNull();
  });
});

describe('kpiValues', () => {
  const zero: KpiTally = { denominator: 0, numerator: 0, subtracted: 0 };
  const tallies = (over: Partial<Record<KpiKey, KpiTally>>, csatSum = 0) => ({
    byKey: { ...Object.fromEntries(KPI_KEYS.map((k) => [k, zero])), ...over } as Record<KpiKey, KpiTally>,
    csatSum,
  });

  it('lists every KPI with bilingual labels and null rates when nothing was counted', () => {
    const values = kpiValues(tallies({}));
    expect(values.map((v) => v.key)).toEqual([...KPI_KEYS]);
    for (const v of values) {
      expect(v.rate).toBeNull();
      expect(v.label.zh).toBeTruthy();
      expect(v.label.en).toBeTruthy();
    }
    expect(values.find((v) => v.key === 'timeliness')?.label.zh).toBe('跟踪及时率');
  });

  it('gives NPS a numerator of promoters minus detractors over the responses', () => {
    // 7 responses: 3 promoters, 2 detractors, so 2 passives; (3 - 2) / 7 = 14.3
    const nps = kpiValues(tallies({ nps: { denominator: 7, numerator: 3, subtracted: 2 } })).find((v) => v.key === 'nps');
    expect(nps).toEqual({
      key: 'nps', label: expect.any(Object), numerator: 1, denominator: 7, rate: 14.3, score: 14.3,
      responses: 7, promoters: 3, passives: 2, detractors: 2,
    });
  });

  it('gives CSAT the mean of the answers next to the share of 4-5 answers', () => {
    // 6 answers summing to 23, of which 4 are 4 or 5: 66.7%, mean 3.83
    const csat = kpiValues(tallies({ csat: { denominator: 6, numerator: 4, subtracted: 0 } }, 23)).find((v) => v.key === 'csat');
    expect(csat).toMatchObject({ numerator: 4, denominator: 6, rate: 66.7, mean: 3.83 });
  });

  it('gives the appointment rate, base data accuracy and the recorded-late share as plain rates', () => {
    const values = kpiValues(tallies({
      appointmentRate: { denominator: 6, numerator: 2, subtracted: 0 }, // 2 of 6 deliveries booked
      dataAccuracy: { denominator: 5, numerator: 3, subtracted: 0 }, // 3 of 5 checks found the data right
      recordedLate: { denominator: 13, numerator: 2, subtracted: 0 }, // 2 of 13 closed-window calls came in late
    }));
    const byKey = Object.fromEntries(values.map((v) => [v.key, v]));
    expect(byKey.appointmentRate).toMatchObject({ label: { zh: '交车预约率' }, numerator: 2, denominator: 6, rate: 33.3 });
    expect(byKey.dataAccuracy).toMatchObject({ label: { zh: '基盘信息准确率' }, numerator: 3, denominator: 5, rate: 60 });
    expect(byKey.recordedLate).toMatchObject({ numerator: 2, denominator: 13, rate: 15.4 });
  });
});

describe('FOLLOW_UP_KPIS', () => {
  it('CSAT and NPS count only the survey step\'s answers, whatever the call became (an SMS answer to a missed call counts)', () => {
    for (const key of ['csat', 'nps'] as const) {
      expect(FOLLOW_UP_KPIS[key].denominator).toContainEqual({ field: 'survey', equals: true });
      expect(FOLLOW_UP_KPIS[key].denominator.some((c) => 'status' in c)).toBe(false);
    }
  });

  it('timeliness counts only closed windows and keeps recorded-late calls apart', () => {
    expect(FOLLOW_UP_KPIS.timeliness.denominator).toEqual([{ windowClosed: true }, { field: 'recordedLate', equals: false }]);
    expect(FOLLOW_UP_KPIS.recordedLate.denominator).toEqual([{ windowClosed: true }]);
  });
});

describe('rankByRate', () => {
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

  it('ranks best first; equal rates share a rank and the next rank skips', () => {
    const ranked = rankByRate(
      [
        { name: 'carol', numerator: 2, denominator: 3 },
        { name: 'alice', numerator: 4, denominator: 5 },
        { name: 'dave', numerator: 4, denominator: 6 }, // 2/3 as well: a tie with carol
        { name: 'erin', numerator: 0, denominator: 1 },
      ],
      byName,
    );
    expect(ranked.map((r) => [r.name, r.rank, r.rate])).toEqual([
      ['alice', 1, 80],
      ['carol', 2, 66.7],
      ['dave', 2, 66.7],
      ['erin', 4, 0],
    ]);
  });

  it('compares exact ratios: 2/3 outranks 66.65% though both show 66.7%', () => {
    const ranked = rankByRate([{ name: 'a', numerator: 6665, denominator: 10000 }, { name: 'b', numerator: 2, denominator: 3 }], byName);
    expect(ranked.map((r) => [r.name, r.rank, r.rate])).toEqual([['b', 1, 66.7], ['a', 2, 66.7]]);
  });

  it('leaves out people with nothing in the denominator', () => {
    expect(rankByRate([{ name: 'bob', numerator: 0, denominator: 0 }], byName)).toEqual([]);
  });
});

describe('resolvePeriod', () => {
  const now = new Date('2026-11-25T16:30:00Z'); // 2026-11-26 00:30 in Shanghai, still the 25th in Berlin

  it('defaults to the current month in the zone', () => {
    expect(resolvePeriod({ timeZone: SHANGHAI, now })).toEqual({
      ok: true, from: new Date('2026-10-31T16:00:00Z'), to: new Date('2026-11-30T16:00:00Z'),
    });
  });

  it('reads dates as local midnight in the store\'s zone, across a DST change', () => {
    expect(resolvePeriod({ from: '2026-03-01', to: '2026-04-01', timeZone: SHANGHAI, now })).toEqual({
      ok: true, from: new Date('2026-02-28T16:00:00Z'), to: new Date('2026-03-31T16:00:00Z'),
    });
    // Berlin: CET (UTC+1) on March 1st, CEST (UTC+2) on April 1st
    expect(resolvePeriod({ from: '2026-03-01', to: '2026-04-01', timeZone: BERLIN, now })).toEqual({
      ok: true, from: new Date('2026-02-28T23:00:00Z'), to: new Date('2026-03-31T22:00:00Z'),
    });
  });

  it('takes ISO instants as they are', () => {
    expect(resolvePeriod({ from: '2026-03-01T00:00:00+08:00', to: '2026-03-02T00:00:00Z', timeZone: BERLIN, now })).toEqual({
      ok: true, from: new Date('2026-02-28T16:00:00Z'), to: new Date('2026-03-02T00:00:00Z'),
    });
  });

  it('names the field at fault', () => {
    expect(resolvePeriod({ from: '2026-02-30', to: '2026-04-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'from' });
    expect(resolvePeriod({ from: '2026-03-01', to: 'soon', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'to' });
    expect(resolvePeriod({ from: '2026-04-01', to: '2026-03-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'from' });
    expect(resolvePeriod({ from: '2026-03-01', to: '2026-03-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'from' });
    expect(resolvePeriod({ from: '2026-03-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'to' });
    expect(resolvePeriod({ to: '2026-03-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'from' });
  });

  it(`allows at most ${MAX_PERIOD_DAYS} days`, () => {
    // 2024 is a leap year: 2024-01-01 .. 2025-01-01 is 366 days, one more day is too many
    expect(resolvePeriod({ from: '2024-01-01', to: '2025-01-01', timeZone: SHANGHAI, now })).toMatchObject({ ok: true });
    expect(resolvePeriod({ from: '2024-01-01', to: '2025-01-02', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'to' });
    expect(resolvePeriod({ from: '2025-03-01T00:00:00Z', to: '2026-03-02T00:00:01Z', timeZone: SHANGHAI, now })).toMatchObject({ ok: false, field: 'to' });
  });
});
