import { DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import { DEFAULT_TEMPLATES } from '../../src/domain/templates';
import {
  applyVehicleEvent,
  MARKETING_KINDS,
  touchesOf,
  YEARS_KINDS,
  dailyKmForecast,
  DEFAULT_YEARS_PLAN,
  initialYearsState,
  maintenanceDueOn,
  nextDueTouch,
  nextYearly,
  rollCycles,
  serviceInterval,
  touchDisposition,
  vehicleEventProblem,
  vehicleFactsProblem,
  withReading,
  YearsContext,
} from '../../src/domain/years';

const ctx: YearsContext = { plan: DEFAULT_YEARS_PLAN, model: 'Model Y', deliveredOn: '2027-03-10', timeZone: 'Asia/Shanghai', customerWindow: DEFAULT_CUSTOMER_WINDOW };
/** 10:00 Shanghai time on a local date. */
const at = (on: string, hh = '10') => new Date(`${on}T${hh}:00:00+08:00`);

describe('mileage forecast (median of pairwise rates)', () => {
  const steady = [{ on: '2027-01-01', km: 0 }, { on: '2027-04-11', km: 5_000 }, { on: '2027-07-20', km: 10_000 }];

  it('reads a steady driver at their daily distance', () => {
    expect(dailyKmForecast(steady, '2027-08-01')).toBeCloseTo(50, 5);
  });

  it('is not thrown by one wrong reading (a typo with an extra digit)', () => {
    const typo = [...steady, { on: '2027-10-28', km: 150_000 }, { on: '2028-02-05', km: 20_000 }];
    expect(dailyKmForecast(typo, '2028-02-10')).toBeCloseTo(50, 0);
  });

  it('leaves out a pair whose odometer went down (a reset or a swapped reading)', () => {
    const reset = [...steady, { on: '2027-08-01', km: 300 }];
    // The pairs into the reset are dropped; those that remain still say 50 km a day.
    expect(dailyKmForecast(reset, '2027-08-02')).toBeCloseTo(50, 0);
  });

  it('says nothing from a single reading, two on the same day, or only readings older than two years', () => {
    expect(dailyKmForecast([{ on: '2027-01-01', km: 100 }], '2027-06-01')).toBeNull();
    expect(dailyKmForecast([{ on: '2027-01-01', km: 100 }, { on: '2027-01-01', km: 200 }], '2027-06-01')).toBeNull();
    expect(dailyKmForecast(steady, '2030-01-01')).toBeNull();
  });

  it('keeps the most recent readings, one per day', () => {
    let readings = [{ on: '2027-01-01', km: 0 }];
    for (let i = 1; i <= 12; i++) readings = withReading(readings, { on: `2027-${String(i).padStart(2, '0')}-15`, km: i * 1000 });
    readings = withReading(readings, { on: '2027-12-15', km: 12_345 });
    expect(readings).toHaveLength(8);
    expect(readings.at(-1)).toEqual({ on: '2027-12-15', km: 12_345 });
  });
});

describe('maintenance due by time or forecast mileage, whichever comes first', () => {
  const interval = { months: 12, km: 10_000 };

  it('by time for an owner who drives little', () => {
    const readings = [{ on: '2027-01-01', km: 0 }, { on: '2027-07-01', km: 3_000 }];
    expect(maintenanceDueOn({ interval, lastServiceOn: '2027-01-01', readings, today: '2027-07-02' })).toEqual({ dueOn: '2028-01-01', by: 'time' });
  });

  it('by mileage for an owner who drives 100 km a day: 100 days after the last service', () => {
    const readings = [{ on: '2027-01-01', km: 0 }, { on: '2027-02-10', km: 4_000 }];
    expect(maintenanceDueOn({ interval, lastServiceOn: '2027-01-01', readings, today: '2027-02-10' })).toEqual({ dueOn: '2027-04-11', by: 'mileage' });
  });

  it('by time when no reading can tell a rate', () => {
    expect(maintenanceDueOn({ interval, lastServiceOn: '2027-01-31', readings: [], today: '2027-02-01' })).toEqual({ dueOn: '2028-01-31', by: 'time' });
  });

  it('uses a model\'s own intervals, first and then periodic', () => {
    const plan = { ...DEFAULT_YEARS_PLAN.maintenance, models: [{ model: 'EV-1', first: { months: 12, km: 20_000 }, every: { months: 24, km: 30_000 } }] };
    expect(serviceInterval(plan, 'EV-1', 0)).toEqual({ months: 12, km: 20_000 });
    expect(serviceInterval(plan, 'EV-1', 2)).toEqual({ months: 24, km: 30_000 });
    expect(serviceInterval(plan, 'Model Y', 0)).toEqual(DEFAULT_YEARS_PLAN.maintenance.first);
  });
});

describe('planning the years', () => {
  it('a new car: first service 6 months after delivery, anniversary a year after, insurance and birthday from the DMS', () => {
    const s = initialYearsState({ model: 'Model Y', insuranceExpiresOn: '2028-03-09', birthday: '1985-07-01' }, ctx, at('2027-03-10'));
    expect(s.cycles.map((c) => [c.key, c.dueOn])).toEqual([
      ['maintenance-1', '2027-09-10'], ['insurance-2028-03-09', '2028-03-09'], ['birthday-2027-07-01', '2027-07-01'], ['anniversary-2028-03-10', '2028-03-10'],
    ]);
    // The first reminder: 14 days before the service, at the opening of the customer's window.
    const next = nextDueTouch(s, ctx)!;
    expect([next.key, next.at.toISOString()]).toEqual(['birthday-2027-07-01-1', at('2027-07-01', '09').toISOString()]);
  });

  it('a booked service holds its reminders back, and a visit starts the next interval and the satisfaction call', () => {
    const s = initialYearsState({ model: 'Model Y' }, ctx, at('2027-03-10'));
    expect(applyVehicleEvent(s, ctx, { kind: 'service-booked', bookedFor: '2027-09-08' }, at('2027-08-20')).map((c) => c.change)).toEqual(['booked']);
    const m = s.cycles.find((c) => c.kind === 'maintenance')!;
    const due = nextDueTouch({ ...s, cycles: [m] }, ctx)!;
    expect(touchDisposition(due, s, at('2027-08-27'))).toBe('skip');
    const changes = applyVehicleEvent(s, ctx, { kind: 'service-visit', visitedOn: '2027-09-08', odometerKm: 4_000, maintenance: true }, at('2027-09-08', '15'));
    expect(changes.map((c) => [c.cycle.key, c.change])).toEqual([['maintenance-1', 'done']]);
    expect(s.cycles.find((c) => c.kind === 'maintenance')).toMatchObject({ key: 'maintenance-2', dueOn: '2028-09-08' });
    expect(s.cycles.find((c) => c.kind === 'post-service')).toMatchObject({ key: 'post-service-2027-09-08', dueOn: '2027-09-08' });
    // The same visit reported again changes nothing.
    expect(applyVehicleEvent(s, ctx, { kind: 'service-visit', visitedOn: '2027-09-08', odometerKm: 4_000, maintenance: true }, at('2027-09-08', '16'))).toEqual([]);
    expect(s.servicesDone).toBe(1);
  });

  it('a renewal recorded ends the insurance cycle (no more reminders) and plans the next term', () => {
    const s = initialYearsState({ model: 'Model Y', insuranceExpiresOn: '2028-03-09' }, ctx, at('2027-03-10'));
    const changes = applyVehicleEvent(s, ctx, { kind: 'insurance-renewed', expiresOn: '2029-03-09' }, at('2028-02-01'));
    expect(changes.map((c) => [c.cycle.key, c.change])).toEqual([['insurance-2028-03-09', 'done']]);
    expect(s.cycles.filter((c) => c.kind === 'insurance').map((c) => c.key)).toEqual(['insurance-2029-03-09']);
  });

  it('a cycle whose touches are all taken rolls on after its due date; an unrenewed policy a year on', () => {
    const s = initialYearsState({ model: 'Model Y', insuranceExpiresOn: '2028-03-09' }, ctx, at('2027-03-10'));
    s.cycles.find((c) => c.kind === 'insurance')!.taken = [0, 1, 2, 3];
    expect(rollCycles(s, ctx, at('2028-03-09'))).toEqual([]);
    expect(rollCycles(s, ctx, at('2028-03-10')).map((c) => [c.cycle.key, c.change])).toEqual([['insurance-2028-03-09', 'lapsed']]);
    expect(s.cycles.find((c) => c.kind === 'insurance')?.key).toBe('insurance-2029-03-09');
  });

  it('an imported vehicle with its service overdue gets it due today (one call), and nothing for dates before the start', () => {
    const s = initialYearsState({ model: 'Model Y', lastServiceOn: '2026-01-05', servicesDone: 3 }, { ...ctx, deliveredOn: '2024-01-05' }, at('2027-03-10'));
    expect(s.cycles.find((c) => c.kind === 'maintenance')).toMatchObject({ key: 'maintenance-4', dueOn: '2027-03-10' });
    const first = nextDueTouch(s, ctx)!;
    expect(first.key).toBe('maintenance-4-1');
    expect(touchDisposition(first, s, at('2027-03-10'))).toBe('skip');
  });

  it('a birthday and a licence the DMS learns later are planned from then on', () => {
    const s = initialYearsState({ model: 'Model Y' }, ctx, at('2027-03-10'));
    expect(applyVehicleEvent(s, ctx, { kind: 'owner-details', birthday: '1990-04-02', licenceExpiresOn: '2029-01-15' }, at('2027-04-01'))).toEqual([]);
    expect(s.cycles.filter((c) => c.kind === 'birthday' || c.kind === 'licence').map((c) => c.key)).toEqual(['birthday-2027-04-02', 'licence-2029-01-15']);
    expect(vehicleEventProblem({ kind: 'owner-details', birthday: '13-01' })).toMatch(/^birthday/);
  });

  it('birthdays on 29 February are greeted on the 28th in other years', () => {
    expect(nextYearly('1992-02-29', '2027-01-01')).toBe('2027-02-28');
    expect(nextYearly('02-29', '2028-01-01')).toBe('2028-02-29');
    expect(nextYearly('07-01', '2027-07-02')).toBe('2028-07-01');
  });

  it('names the field of vehicle facts it could not plan from (an importer\'s bad row)', () => {
    expect(vehicleFactsProblem({ model: 'X', insuranceExpiresOn: '2027-02-30' })).toMatch(/^vehicle.insuranceExpiresOn/);
    expect(vehicleFactsProblem({ model: 'X', readings: [{ on: '2027-01-01', km: -3 }] })).toMatch(/odometer/);
    expect(vehicleFactsProblem({ model: 'X', birthday: '1990-02-29', lastServiceOn: '2026-12-01' })).toBeNull();
  });

  it('names the field of an event it could not apply', () => {
    expect(vehicleEventProblem({ kind: 'odometer', readOn: '2027-02-30', km: 10 })).toMatch(/^readOn/);
    expect(vehicleEventProblem({ kind: 'service-visit', visitedOn: '2027-02-01', odometerKm: 2_000_001, maintenance: true })).toMatch(/^odometerKm/);
    expect(vehicleEventProblem({ kind: 'insurance-renewed', expiresOn: '2028-03-09' })).toBeNull();
  });
});

describe('the default plan of the years', () => {
  it('names templates that exist in both languages, marketing for greetings and service for the rest', () => {
    for (const kind of YEARS_KINDS) {
      for (const touch of touchesOf(DEFAULT_YEARS_PLAN, kind)) {
        if (touch.kind !== 'message') continue;
        const found = DEFAULT_TEMPLATES.filter((t) => t.key === touch.template && t.channel === touch.channel);
        expect([kind, found.map((t) => [t.locale, t.purpose])]).toEqual([kind, [['zh-CN', MARKETING_KINDS.has(kind) ? 'marketing' : 'service'], ['en', MARKETING_KINDS.has(kind) ? 'marketing' : 'service']]]);
      }
    }
  });
});

