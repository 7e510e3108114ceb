import { randomUUID } from 'node:crypto';
import { Client, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import { DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import type { LifecycleInput, LifecycleState } from '../../src/domain/lifecycle';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { DEFAULT_YEARS_PLAN, maintenanceDueOn, VehicleEvent, VehicleFacts } from '../../src/domain/years';
import {
  consentChangedSignal,
  ownershipEndedSignal,
  recordAnswerUpdate,
  recordVehicleEventUpdate,
  stateQuery,
} from '../../src/workflows/contract';
import { vehicleLifecycle } from '../../src/workflows/vehicle-lifecycle';
import { createTestWorker, timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { FakeHooks, fakeActivities } from './fake-activities';
import { recordHistory } from './histories';

const TZ = 'Asia/Shanghai';
/** The post-delivery plan cut to its thank-you SMS: these tests are about the years after. */
const THANK_YOU_ONLY: LifecycleInput['plan'] = { id: 'plan-years', version: 1, steps: DEFAULT_PLAN.steps.filter((s) => s.key === 'delivery-thank-you') };

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

/** A store-local date `days` after `on`. */
const plusDays = (on: string, days: number) => DateTime.fromISO(on, { zone: 'utc' }).plus({ days }).toISODate()!;
const plusMonths = (on: string, months: number) => DateTime.fromISO(on, { zone: 'utc' }).plus({ months }).toISODate()!;
/** `hhmm` store time on the local date `on`. */
const at = (on: string, hhmm: string) => DateTime.fromISO(`${on}T${hhmm}`, { zone: TZ }).toJSDate();
const localDate = (ms: number) => DateTime.fromMillis(ms, { zone: TZ }).toISODate()!;

async function skipTo(when: Date): Promise<void> {
  const ms = when.getTime() - (await env.currentTimeMs());
  if (ms <= 0) throw new Error(`the test clock is already past ${when.toISOString()}`);
  await env.sleep(ms);
}

/** A client that does not unlock time skipping while it waits for a result. */
const plainClient = () => new Client({ connection: env.connection });

interface Vehicle {
  handle: WorkflowHandle<typeof vehicleLifecycle>;
  input: LifecycleInput;
  /** The latest run's state (the workflow continues as new every year). */
  state: () => Promise<LifecycleState>;
  event: (e: VehicleEvent, updateId?: string) => ReturnType<WorkflowHandle['executeUpdate']>;
  complete: (stepKey: string) => Promise<unknown>;
}

async function withVehicle(
  opts: { facts: (deliveredOn: string) => VehicleFacts; imported?: boolean; deliveredAt?: Date; plan?: LifecycleInput['plan']; hooks?: FakeHooks },
  body: (v: Vehicle, fake: ReturnType<typeof fakeActivities>, deliveredOn: string) => Promise<void>,
): Promise<void> {
  const fake = fakeActivities(TZ, opts.hooks);
  const { worker, taskQueue } = await createTestWorker(env, fake.activities);
  const now = await env.currentTimeMs();
  const deliveredAt = opts.deliveredAt ?? at(plusDays(localDate(now), 1), '10:00');
  if (!opts.deliveredAt) await skipTo(deliveredAt);
  const input: LifecycleInput = {
    deliveryId: `delivery-${randomUUID()}`, storeId: 'store-test', timeZone: TZ, deliveredAt: deliveredAt.toISOString(),
    customerWindow: DEFAULT_CUSTOMER_WINDOW, plan: opts.plan ?? THANK_YOU_ONLY, vehicle: opts.facts(localDate(deliveredAt.getTime())), ...(opts.imported && { imported: true }),
  };
  const workflowId = `vehicle-store-test-${randomUUID()}`;
  const latest = () => env.client.workflow.getHandle(workflowId);
  try {
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(vehicleLifecycle, { taskQueue, workflowId, args: [input] });
      await body({
        handle, input,
        state: () => latest().query(stateQuery),
        event: (e, updateId) => latest().executeUpdate(recordVehicleEventUpdate, { args: [e], updateId }),
        complete: async (stepKey) => latest().executeUpdate(recordAnswerUpdate, {
          args: [{ kind: 'call', stepKey, answeredAt: new Date(await env.currentTimeMs()).toISOString(), staffId: null,
            outcome: { reached: true, satisfied: true, contactDataCorrect: false, correctedContact: { phone: '13900002222' } } }],
        }),
      }, fake, localDate(deliveredAt.getTime()));
    });
  } finally {
    const h = plainClient().workflow.getHandle(workflowId);
    if ((await h.describe()).status.name === 'RUNNING') await h.terminate('test over');
  }
}

const sendsOf = (fake: ReturnType<typeof fakeActivities>, template: string) =>
  fake.callsOf('sendMessage').filter((c) => c.input.templateKey === template).map((c) => localDate(c.at.getTime()));

describe('vehicle lifecycle workflow: the years after delivery', () => {
  it('runs one vehicle through five years: services on time and late, mileage before the calendar, a renewal, an opt-out from marketing, a transfer', async () => {
    const facts = (d0: string): VehicleFacts => ({ model: 'Model Y', insuranceExpiresOn: plusDays(d0, 364), birthday: plusDays(d0, 290).slice(5) });
    await withVehicle({ facts }, async (v, fake, d0) => {
      const { insuranceExpiresOn } = facts(d0) as { insuranceExpiresOn: string };
      const birthday = plusDays(d0, 290);
      // The customer agreed to marketing messages at delivery.
      fake.setConsent(v.input.deliveryId, 'sms', 'marketing', true);
      await skipTo(at(plusDays(d0, 1), '08:00'));
      const runs = new Set<string>([(await v.handle.describe()).runId]);
      const noteRun = async () => runs.add((await plainClient().workflow.getHandle(v.handle.workflowId).describe()).runId);

      expect((await v.state()).years?.cycles.find((c) => c.kind === 'maintenance')?.dueOn).toBe(plusMonths(d0, 6));

      // Year 1, first service by time (6 months): two reminders, a booking, the visit on the day.
      const firstDue = plusMonths(d0, 6);
      await skipTo(at(plusDays(firstDue, -2), '12:00'));
      expect(sendsOf(fake, 'maintenance-reminder')).toEqual([plusDays(firstDue, -14), plusDays(firstDue, -3)]);
      await v.event({ kind: 'service-booked', bookedFor: firstDue });
      await skipTo(at(firstDue, '15:00'));
      const visit1 = await v.event({ kind: 'service-visit', visitedOn: firstDue, odometerKm: 4_000, maintenance: true, work: ['首保'] }) as { upcoming: { kind: string; dueOn: string }[] };
      expect(visit1.upcoming.find((c) => c.kind === 'maintenance')?.dueOn).toBe(plusMonths(firstDue, 12));
      // Booked, and came: no service advisor call for that cycle; the satisfaction call opens the next morning.
      await skipTo(at(plusDays(firstDue, 1), '10:00'));
      const opened = () => fake.callsOf('openFollowUp').map((c) => [c.input.stepKey, c.input.role, localDate(Date.parse(c.input.dueStart))]);
      expect(opened()).toEqual([[`post-service-${firstDue}-1`, 'cr_specialist', plusDays(firstDue, 1)]]);
      await v.complete(`post-service-${firstDue}-1`);

      // An odometer reading 90 days later: 12,000 km. The median rate brings the 10,000 km forward of the 12 months.
      const readOn = plusDays(firstDue, 90);
      await skipTo(at(readOn, '10:00'));
      const read = await v.event({ kind: 'odometer', readOn, km: 12_000 }) as { upcoming: { kind: string; dueOn: string }[] };
      const secondDue = read.upcoming.find((c) => c.kind === 'maintenance')!.dueOn;
      const expected = maintenanceDueOn({
        interval: DEFAULT_YEARS_PLAN.maintenance.every, lastServiceOn: firstDue, today: readOn,
        readings: [{ on: d0, km: 0 }, { on: firstDue, km: 4_000 }, { on: readOn, km: 12_000 }],
      });
      expect(expected.by).toBe('mileage');
      expect(secondDue).toBe(expected.dueOn);
      expect(secondDue < plusMonths(firstDue, 12)).toBe(true);

      // The birthday greeting goes out (marketing, with consent).
      await skipTo(at(plusDays(birthday, 0), '12:00'));
      expect(sendsOf(fake, 'birthday-greeting')).toEqual([birthday]);
      expect(fake.callsOf('sendMessage').find((c) => c.input.templateKey === 'birthday-greeting')?.input.purpose).toBe('marketing');

      // Insurance: -60 SMS, the renewal specialist's call from -45, -30 SMS; renewed at -20: no -7 SMS.
      await skipTo(at(plusDays(insuranceExpiresOn, -20), '10:00'));
      expect(sendsOf(fake, 'insurance-renewal-reminder')).toEqual([plusDays(insuranceExpiresOn, -60), plusDays(insuranceExpiresOn, -30)]);
      expect(opened()).toContainEqual([`insurance-${insuranceExpiresOn}-2`, 'renewal_specialist', plusDays(insuranceExpiresOn, -45)]);
      await v.event({ kind: 'insurance-renewed', expiresOn: plusDays(insuranceExpiresOn, 365) });
      await skipTo(at(plusDays(insuranceExpiresOn, 1), '10:00'));
      expect(sendsOf(fake, 'insurance-renewal-reminder')).toHaveLength(2);
      expect(fake.cycles.get(`${v.input.deliveryId}:insurance-${insuranceExpiresOn}`)).toMatchObject({ reminded: expect.any(String), done: expect.any(String) });

      // The first anniversary greeting.
      await skipTo(at(plusDays(plusMonths(d0, 12), 0), '12:00'));
      expect(sendsOf(fake, 'purchase-anniversary-greeting')).toEqual([plusMonths(d0, 12)]);

      // The mileage-due service: reminders, nothing booked, the service advisor's call; the customer comes 20 days late.
      await skipTo(at(secondDue, '10:00'));
      await noteRun();
      expect(sendsOf(fake, 'maintenance-reminder').slice(2)).toEqual([plusDays(secondDue, -14), plusDays(secondDue, -3)]);
      expect(opened()).toContainEqual(['maintenance-2-3', 'service_advisor', secondDue]);
      await v.complete('maintenance-2-3');
      const lateOn = plusDays(secondDue, 20);
      await skipTo(at(lateOn, '11:00'));
      await v.event({ kind: 'service-visit', visitedOn: lateOn, odometerKm: 21_000, maintenance: true });
      expect(fake.cycles.get(`${v.input.deliveryId}:maintenance-2`)).toMatchObject({ reminded: expect.any(String), done: expect.any(String) });
      expect(fake.cycles.get(`${v.input.deliveryId}:maintenance-2`)?.booked).toBeUndefined();

      // Year 2: the customer opts out of marketing SMS. Greetings stop (suppressed); service reminders do not.
      fake.setConsent(v.input.deliveryId, 'sms', 'marketing', false);
      await plainClient().workflow.getHandle(v.handle.workflowId).signal(consentChangedSignal, { channel: 'sms', purpose: 'marketing', granted: false });
      const remindersBefore = sendsOf(fake, 'maintenance-reminder').length;
      const birthday2 = plusMonths(birthday, 12);
      await skipTo(at(birthday2, '12:00'));
      await noteRun();
      const greeting = (await v.state()).steps.find((s) => s.key === `birthday-${birthday2}-1`);
      expect(greeting?.status).toBe('suppressed');

      // Years 3 to 5: the services keep coming (reminders sent), and the workflow continues as new each year.
      for (const year of [2, 3, 4]) {
        await skipTo(at(plusMonths(d0, 12 * year + 2), '12:00'));
        await noteRun();
      }
      expect(sendsOf(fake, 'maintenance-reminder').length).toBeGreaterThan(remindersBefore + 2);
      const greetingsSent = fake.callsOf('sendMessage').filter((c) => c.input.purpose === 'marketing').length;
      expect(greetingsSent).toBeGreaterThanOrEqual(2 + 4); // every greeting is attempted, and suppressed by consent after the opt-out
      expect(runs.size).toBeGreaterThanOrEqual(5);
      const history = await plainClient().workflow.getHandle(v.handle.workflowId).fetchHistory();
      expect(history.events!.length).toBeLessThan(2_000);
      // A run records one patch marker (and its search-attribute upsert, a visibility write), in its
      // first workflow task: the year's reminders and calls record none (docs/SCALING.md, the burst).
      const patchEvents = history.events!.filter((e) => e.markerRecordedEventAttributes || e.upsertWorkflowSearchAttributesEventAttributes);
      expect(patchEvents.map((e) => Number(e.eventId))).toEqual([5, 6]);

      // Year 5: the car is transferred to a new owner. The ownership ends; nothing more is sent.
      await plainClient().workflow.getHandle(v.handle.workflowId).signal(ownershipEndedSignal, { reason: 'transferred', endedAt: new Date(await env.currentTimeMs()).toISOString() });
      const final = await plainClient().workflow.getHandle<typeof vehicleLifecycle>(v.handle.workflowId).result();
      expect(final).toMatchObject({ phase: 'ended', endedReason: 'transferred' });
      expect(fake.callsOf('endDelivery').map((c) => c.input.reason)).toEqual(['transferred']);
      await recordHistory(v.handle, 'five-years-last-run');
    });
  });

  it('an imported vehicle delivered three years ago: its long-closed plan steps are skipped, an overdue service gets one call now, no flood of old reminders', async () => {
    const now = await env.currentTimeMs();
    const today = localDate(now);
    const deliveredAt = at(plusDays(plusMonths(today, -36), -10), '10:00');
    const facts = (): VehicleFacts => ({
      model: 'Model Y', servicesDone: 3, lastServiceOn: plusMonths(today, -13), insuranceExpiresOn: plusDays(today, 20),
      birthday: plusDays(today, -1).slice(5), readings: [{ on: plusMonths(today, -13), km: 30_000 }],
    });
    await withVehicle({ facts, imported: true, deliveredAt, plan: { id: 'plan-full', version: 1, steps: DEFAULT_PLAN.steps } }, async (v, fake) => {
      await skipTo(new Date(now + 60 * 60_000));
      const state = await v.state();
      const planKeys = new Set(DEFAULT_PLAN.steps.map((s) => s.key));
      expect(state.steps.filter((s) => planKeys.has(s.key)).map((s) => s.status)).toEqual(DEFAULT_PLAN.steps.map(() => 'skipped'));
      expect(fake.callsOf('openFollowUp').map((c) => [c.input.stepKey, c.input.role])).toEqual([['maintenance-4-3', 'service_advisor']]);
      // The -30 days insurance SMS is still inside its "not after"; the -60 SMS and the specialist's call were before our time.
      expect(fake.callsOf('sendMessage').map((c) => c.input.templateKey)).toEqual(['insurance-renewal-reminder']);
      expect(fake.callsOf('sendMessage')[0].input.notAfter).toBeDefined();
      expect(state.years?.cycles.find((c) => c.kind === 'birthday')?.dueOn).toBe(plusMonths(plusDays(today, -1), 12));
      await recordHistory(v.handle, 'imported-vehicle');
    });
  });

  it('refuses a DMS event it could not apply (an impossible date, a negative odometer) before it reaches the history', async () => {
    await withVehicle({ facts: () => ({ model: 'Model Y' }) }, async (v) => {
      for (const e of [{ kind: 'odometer', readOn: '2027-13-45', km: 5 }, { kind: 'odometer', readOn: '2027-01-05', km: -1 }] as VehicleEvent[]) {
        const err = await v.event(e).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('InvalidRequest');
      }
      const history = await v.handle.fetchHistory();
      expect(history.events!.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
    });
  });

  it('a DMS visit retried with the same update ID, and the same visit reported twice, start one interval and one satisfaction call', async () => {
    await withVehicle({ facts: () => ({ model: 'Model Y' }) }, async (v, fake, d0) => {
      const visitedOn = plusDays(d0, 40);
      await skipTo(at(visitedOn, '15:00'));
      const visit: VehicleEvent = { kind: 'service-visit', visitedOn, odometerKm: 2_000, maintenance: true };
      const [a, b] = await Promise.all([v.event(visit, 'dms-1'), v.event(visit, 'dms-1')]);
      expect(a).toEqual(b);
      await v.event(visit, 'dms-2');
      expect((await v.state()).years).toMatchObject({ servicesDone: 1, lastServiceOn: visitedOn });
      await skipTo(at(plusDays(visitedOn, 1), '10:00'));
      expect(fake.callsOf('openFollowUp').map((c) => c.input.stepKey)).toEqual([`post-service-${visitedOn}-1`]);
      expect(fake.callsOf('recordYearsCycle').filter((c) => c.input.change === 'done').map((c) => c.input.key)).toEqual(['maintenance-1']);
      await recordHistory(v.handle, 'dms-visit-retried');
    });
  });

  it('a booking the customer does not keep: no more reminders, and the service advisor\'s call a week after the booked day', async () => {
    await withVehicle({ facts: () => ({ model: 'Model Y' }) }, async (v, fake, d0) => {
      const due = plusMonths(d0, 6);
      await skipTo(at(plusDays(due, -10), '12:00'));
      await v.event({ kind: 'service-booked', bookedFor: plusDays(due, -1) });
      await skipTo(at(plusDays(due, 8), '12:00'));
      expect(sendsOf(fake, 'maintenance-reminder')).toEqual([plusDays(due, -14)]);
      expect(fake.callsOf('openFollowUp').map((c) => [c.input.stepKey, localDate(Date.parse(c.input.dueStart))])).toEqual([['maintenance-1-3', plusDays(due, 6)]]);
      expect(fake.cycles.get(`${v.input.deliveryId}:maintenance-1`)).toMatchObject({ reminded: expect.any(String), booked: expect.any(String) });
    });
  });

  it('when the database cannot take the KPI rows, the DMS event fails and changes nothing; the same event later applies', async () => {
    let down = true;
    const hooks: FakeHooks = { recordYearsCycle: () => { if (down) throw new Error('database unavailable'); } };
    await withVehicle({ facts: (d0) => ({ model: 'Model Y', insuranceExpiresOn: plusDays(d0, 300) }), hooks }, async (v, _fake, d0) => {
      await skipTo(at(plusDays(d0, 30), '10:00'));
      const renewal: VehicleEvent = { kind: 'insurance-renewed', expiresOn: plusDays(d0, 665) };
      const err = await v.event(renewal, 'renewal-1').catch((x: unknown) => x);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((await v.state()).years?.insuranceExpiresOn).toBe(plusDays(d0, 300));
      down = false;
      await v.event(renewal, 'renewal-2');
      expect((await v.state()).years?.cycles.filter((c) => c.kind === 'insurance').map((c) => c.dueOn)).toEqual([plusDays(d0, 665)]);
      await recordHistory(v.handle, 'dms-event-while-database-down');
    });
  }, 60_000);
});

