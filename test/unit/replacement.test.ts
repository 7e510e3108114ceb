import { DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import {
  DEFAULT_REPLACEMENT_CRITERIA,
  deliveredBetween,
  forecastOdometerKm,
  isScreeningDay,
  monthsBetween,
  outreachWindow,
  replacementCycle,
  type ReplacementCriteria,
  screenVehicle,
} from '../../src/domain/replacement';
import { ReplacementCriteriaSchema } from '../../src/domain/replacement-criteria';

const criteria: ReplacementCriteria = { ...DEFAULT_REPLACEMENT_CRITERIA, enabled: true, minAgeMonths: 36, maxAgeMonths: 60 };
const today = '2030-06-15';

describe('replacement screening (DOMAIN.md section 3, I-1)', () => {
  it('finds a vehicle of three to five years, in the cycle of its year of ownership', () => {
    expect(screenVehicle(criteria, { deliveredOn: '2027-06-15', model: 'Model Y' }, today)).toEqual({
      match: true, cycle: 'year-4', facts: { ageMonths: 36, model: 'Model Y', lastServiceOn: null, forecastKm: null },
    });
    expect(screenVehicle(criteria, { deliveredOn: '2025-06-15', model: 'Model Y' }, today)).toMatchObject({ match: true, cycle: 'year-6', facts: { ageMonths: 60 } });
    expect(screenVehicle(criteria, { deliveredOn: '2027-06-16', model: 'Model Y' }, today)).toEqual({ match: false, reason: 'age 35 months is outside 36-60' });
    expect(screenVehicle(criteria, { deliveredOn: '2025-05-14', model: 'Model Y' }, today)).toMatchObject({ match: false });
  });

  it('counts whole calendar months, month ends included', () => {
    expect(monthsBetween('2027-01-31', '2027-02-27')).toBe(0);
    expect(monthsBetween('2027-01-31', '2027-02-28')).toBe(1);
    expect(monthsBetween('2027-02-28', '2030-02-28')).toBe(36);
    expect(replacementCycle('2027-06-15', '2030-06-14')).toBe('year-3');
    expect(replacementCycle('2027-06-15', '2030-06-15')).toBe('year-4');
  });

  it('the database pre-filter covers exactly the ages the rule accepts', () => {
    const { firstOn, lastOn } = deliveredBetween(criteria, today);
    expect(screenVehicle(criteria, { deliveredOn: firstOn, model: 'X' }, today).match).toBe(true);
    expect(screenVehicle(criteria, { deliveredOn: lastOn, model: 'X' }, today).match).toBe(true);
    const dayBefore = new Date(Date.parse(`${firstOn}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const dayAfter = new Date(Date.parse(`${lastOn}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(screenVehicle(criteria, { deliveredOn: dayBefore, model: 'X' }, today).match).toBe(false);
    expect(screenVehicle(criteria, { deliveredOn: dayAfter, model: 'X' }, today).match).toBe(false);
  });

  it('screens the listed models only, whatever their case and spacing; a vehicle with no model is not guessed', () => {
    const some = { ...criteria, models: ['Model Y', '凯美瑞'] };
    expect(screenVehicle(some, { deliveredOn: '2027-01-01', model: ' model y ' }, today).match).toBe(true);
    expect(screenVehicle(some, { deliveredOn: '2027-01-01', model: '凯美瑞' }, today).match).toBe(true);
    expect(screenVehicle(some, { deliveredOn: '2027-01-01', model: 'Model 3' }, today)).toEqual({ match: false, reason: 'model Model 3 is not screened' });
    expect(screenVehicle(some, { deliveredOn: '2027-01-01', model: '' }, today)).toEqual({ match: false, reason: 'no model known' });
  });

  it('needs a recent service when the store asks for one; a missing, impossible or future service date does not match', () => {
    const loyal = { ...criteria, lastServiceWithinMonths: 12 };
    expect(screenVehicle(loyal, { deliveredOn: '2027-01-01', model: 'X', lastServiceOn: '2029-12-01' }, today)).toMatchObject({ match: true, facts: { lastServiceOn: '2029-12-01' } });
    expect(screenVehicle(loyal, { deliveredOn: '2027-01-01', model: 'X', lastServiceOn: '2029-06-15' }, today)).toMatchObject({ match: false, reason: expect.stringContaining('older than 12 months') });
    for (const lastServiceOn of [undefined, null, '', '2029-02-30', '2031-01-01', 'yesterday']) {
      expect(screenVehicle(loyal, { deliveredOn: '2027-01-01', model: 'X', lastServiceOn }, today)).toEqual({ match: false, reason: 'no service known' });
    }
  });

  it('forecasts the odometer from the readings, and never matches a mileage bound on no reading', () => {
    const high = { ...criteria, minMileageKm: 60_000 };
    // 50 km a day since the last reading 200 days ago: 50,000 + 10,000.
    const readings = [{ on: '2029-01-01', km: 20_000 }, { on: '2029-05-21', km: 27_000 }, { on: '2029-11-27', km: 50_000 }];
    expect(forecastOdometerKm(readings, today)).toBeGreaterThanOrEqual(60_000);
    expect(screenVehicle(high, { deliveredOn: '2027-01-01', model: 'X', readings }, today).match).toBe(true);
    expect(screenVehicle(high, { deliveredOn: '2027-01-01', model: 'X', readings: readings.slice(0, 1) }, today)).toMatchObject({ match: false, reason: 'forecast 20000 km is under 60000' });
    expect(screenVehicle(high, { deliveredOn: '2027-01-01', model: 'X', readings: [] }, today)).toEqual({ match: false, reason: 'no odometer reading known' });
    expect(screenVehicle(high, { deliveredOn: '2027-01-01', model: 'X' }, today)).toEqual({ match: false, reason: 'no odometer reading known' });
  });

  it('ignores a reading that went down, a future one and an impossible one', () => {
    expect(forecastOdometerKm([{ on: '2030-06-01', km: 40_000 }, { on: '2030-06-10', km: 400 }], '2030-06-10')).toBeGreaterThanOrEqual(40_000);
    expect(forecastOdometerKm([{ on: '2031-01-01', km: 90_000 }, { on: '2030-13-01', km: 90_000 }, { on: '2030-06-01', km: Number.NaN }], today)).toBeNull();
  });

  it('never matches a vehicle with no valid delivery date', () => {
    for (const deliveredOn of ['', '2027-02-29', '2031-01-01', 'soon']) {
      expect(screenVehicle(criteria, { deliveredOn, model: 'X' }, today)).toEqual({ match: false, reason: 'no valid delivery date' });
    }
  });

  it('screens on the store\'s weekday only, and never when screening is off', () => {
    // 2030-06-15 is a Saturday.
    expect(isScreeningDay({ enabled: true, screeningWeekday: 6 }, today)).toBe(true);
    expect(isScreeningDay({ enabled: true, screeningWeekday: 7 }, today)).toBe(false);
    expect(isScreeningDay({ enabled: false, screeningWeekday: 6 }, today)).toBe(false);
  });

  it('the outreach call is due from now to the close of the customer\'s window on its last day', () => {
    const now = new Date('2030-06-15T02:00:00Z'); // 10:00 in Shanghai
    expect(outreachWindow(now, 7, today, DEFAULT_CUSTOMER_WINDOW, 'Asia/Shanghai')).toEqual({ dueStart: '2030-06-15T02:00:00.000Z', dueEnd: '2030-06-21T12:00:00.000Z' });
  });

  it('an outreach call opened after the day\'s window has closed counts its days from tomorrow (today did, before lifecycle v9)', () => {
    const lastMinute = new Date('2030-06-15T11:59:00Z'); // 19:59 in Shanghai: today still counts
    const closed = new Date('2030-06-15T12:00:00Z'); // 20:00, the window's close
    const night = new Date('2030-06-15T15:30:00Z'); // 23:30
    expect(outreachWindow(lastMinute, 7, today, DEFAULT_CUSTOMER_WINDOW, 'Asia/Shanghai').dueEnd).toBe('2030-06-21T12:00:00.000Z');
    expect(outreachWindow(closed, 7, today, DEFAULT_CUSTOMER_WINDOW, 'Asia/Shanghai').dueEnd).toBe('2030-06-22T12:00:00.000Z');
    expect(outreachWindow(night, 1, today, DEFAULT_CUSTOMER_WINDOW, 'Asia/Shanghai')).toEqual({ dueStart: '2030-06-15T15:30:00.000Z', dueEnd: '2030-06-16T12:00:00.000Z' });
    expect(outreachWindow(night, 7, today, DEFAULT_CUSTOMER_WINDOW, 'Asia/Shanghai', { todayAlwaysCounts: true }).dueEnd).toBe('2030-06-21T12:00:00.000Z');
  });
});

describe('replacement criteria at the boundary', () => {
  const valid = { enabled: true, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: ['Model Y'], lastServiceWithinMonths: 24, minMileageKm: null, callWindowDays: 7 };
  const fields = (body: unknown) => {
    const r = ReplacementCriteriaSchema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };

  it('takes a valid set and names the field of each bad one', () => {
    expect(fields(valid)).toEqual([]);
    expect(fields({ ...valid, maxAgeMonths: 24 })).toEqual(['maxAgeMonths']);
    expect(fields({ ...valid, minAgeMonths: -1 })).toEqual(['minAgeMonths']);
    expect(fields({ ...valid, minAgeMonths: 1.5 })).toEqual(['minAgeMonths']);
    expect(fields({ ...valid, models: ['ok', 'bad\u0000'] })).toEqual(['models.1']);
    expect(fields({ ...valid, models: ['\u200b'] })).toEqual(['models.0']);
    expect(fields({ ...valid, minMileageKm: 3_000_000 })).toEqual(['minMileageKm']);
    expect(fields({ ...valid, callWindowDays: 0 })).toEqual(['callWindowDays']);
    expect(fields({ ...valid, screeningWeekday: 0 })).toEqual(['screeningWeekday']);
    expect(fields({ ...valid, weekday: 1 })).toEqual(['']);
    const { lastServiceWithinMonths: _, ...missing } = valid;
    expect(fields(missing)).toEqual(['lastServiceWithinMonths']);
  });
});
