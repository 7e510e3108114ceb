import { randomUUID } from 'node:crypto';
import { Client, WorkflowFailedError, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import { ContactWindow, DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import type { CallOutcome } from '../../src/domain/outcome';
import { CallStep, ContactPlanSchema, DEFAULT_PLAN } from '../../src/domain/plan';
import { LifecycleInput, LifecycleState, MISSED_AFTER_MS, StepState } from '../../src/domain/lifecycle';
import {
  contactWindowChangedSignal,
  CustomerAnswer,
  ownershipEndedSignal,
  recordAnswerUpdate,
  rescheduleTaskUpdate,
  stateQuery,
} from '../../src/workflows/contract';
import { vehicleLifecycle } from '../../src/workflows/vehicle-lifecycle';
import { createTestWorker, timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { FakeHooks, fakeActivities } from './fake-activities';
import { recordHistory } from './histories';

const TZ = 'Asia/Shanghai';
const PLAN_V1: LifecycleInput['plan'] = { id: 'plan-v1', version: 1, steps: DEFAULT_PLAN.steps };

const THANK_YOU = 'delivery-thank-you';
const FAREWELL = 'delivery-farewell';
const CARE_SMS = 'delivery-care-2h';
const CONSULTANT_CALL = 'consultant-call-day-2';
const SUPERVISOR_CALL = 'supervisor-call-day-4-6';
const SURVEY_CALL = 'cr-satisfaction-call-day-7';
const MANAGER_CALL = 'manager-call-day-8-10';

const SATISFIED: CallOutcome = { reached: true, satisfied: true, csat: 5, promisesKept: true, contactDataCorrect: true };
const NOT_REACHED: CallOutcome = { reached: false };

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
});

afterAll(async () => {
  await env?.teardown();
});

/** Store-local wall-clock time, to the minute: what the customer's phone shows. */
function local(at: Date | string | number): string {
  return DateTime.fromJSDate(new Date(at), { zone: TZ }).toFormat('yyyy-MM-dd HH:mm');
}

/** `hhmm` local time on the `day`th calendar day after the delivery date. */
function onDay(deliveredAt: Date, day: number, hhmm: string): Date {
  const [hour, minute] = hhmm.split(':').map(Number);
  return DateTime.fromJSDate(deliveredAt, { zone: TZ }).startOf('day').plus({ days: day }).set({ hour, minute }).toJSDate();
}

/** Skips the test server's clock forward to `at`. */
async function skipTo(at: Date): Promise<void> {
  const ms = at.getTime() - (await env.currentTimeMs());
  if (ms <= 0) throw new Error(`the test clock is already past ${at.toISOString()}`);
  await env.sleep(ms);
}

/** Moves the clock to the next `hhmm` local time (at least a day ahead, clear of earlier tests) and returns it. */
async function clockAt(hhmm: string): Promise<Date> {
  const now = new Date(await env.currentTimeMs());
  const at = onDay(now, 1, hhmm);
  await skipTo(at);
  return at;
}

interface Delivery {
  handle: WorkflowHandle<typeof vehicleLifecycle>;
  input: LifecycleInput;
  state: () => Promise<LifecycleState>;
  step: (key: string) => Promise<StepState>;
  complete: (stepKey: string, outcome: CallOutcome, updateId?: string) => ReturnType<typeof answer>;
  answer: (a: CustomerAnswer, updateId?: string) => ReturnType<typeof answer>;
}

/** An answer as the API and the webhooks send it: one update for every kind. */
function answer(handle: WorkflowHandle, a: CustomerAnswer, updateId?: string) {
  return env.client.workflow.getHandle(handle.workflowId).executeUpdate(recordAnswerUpdate, { args: [a], updateId });
}

/** A call outcome recorded now (the test server's clock), by nobody in particular. */
async function callAnswer(stepKey: string, outcome: CallOutcome): Promise<CustomerAnswer> {
  return { kind: 'call', stepKey, outcome, answeredAt: new Date(await env.currentTimeMs()).toISOString(), staffId: null };
}

/** A car handed over at `deliveredAt`: its lifecycle workflow starts with IDs only, as the API starts it. */
async function startDelivery(taskQueue: string, deliveredAt: Date, opts: { plan?: LifecycleInput['plan'] } = {}): Promise<Delivery> {
  const input: LifecycleInput = {
    deliveryId: `delivery-${randomUUID()}`,
    storeId: 'store-test',
    timeZone: TZ,
    deliveredAt: deliveredAt.toISOString(),
    customerWindow: DEFAULT_CUSTOMER_WINDOW,
    plan: opts.plan ?? PLAN_V1,
  };
  const handle = await env.client.workflow.start(vehicleLifecycle, { taskQueue, workflowId: `vehicle-store-test-${randomUUID()}`, args: [input] });
  const state = () => handle.query(stateQuery);
  return {
    handle,
    input,
    state,
    step: async (key) => {
      const found = (await state()).steps.find((s) => s.key === key);
      if (!found) throw new Error(`no step ${key}`);
      return found;
    },
    complete: async (stepKey, outcome, updateId) => answer(handle, await callAnswer(stepKey, outcome), updateId),
    answer: (a, updateId) => answer(handle, a, updateId),
  };
}

/**
 * A client that does not unlock time skipping while it waits: the time-skipping client's
 * `result()` lets the test server jump to its 10-year default run timeout.
 */
function plainClient(): Client {
  return new Client({ connection: env.connection });
}

/**
 * Runs `body` with a worker of its own (own task queue) on fake activities. Whatever the body
 * leaves running is terminated: a workflow without a worker would hold the test server's clock.
 */
async function withWorker(
  body: (t: { fake: ReturnType<typeof fakeActivities>; deliver: (deliveredAt: Date, opts?: Parameters<typeof startDelivery>[2]) => Promise<Delivery> }) => Promise<void>,
  hooks: FakeHooks = {},
): Promise<void> {
  const fake = fakeActivities(TZ, hooks);
  const { worker, taskQueue } = await createTestWorker(env, fake.activities);
  const started: Delivery[] = [];
  try {
    await worker.runUntil(() => body({
      fake,
      deliver: async (deliveredAt, opts) => {
        const d = await startDelivery(taskQueue, deliveredAt, opts);
        started.push(d);
        return d;
      },
    }));
  } finally {
    for (const d of started) {
      const handle = plainClient().workflow.getHandle(d.handle.workflowId);
      if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test over');
    }
  }
}

/** Ends the ownership and waits for the run to finish, so its recorded history is complete. */
async function endOwnership(d: Delivery, reason = 'vehicle sold'): Promise<LifecycleState> {
  await d.handle.signal(ownershipEndedSignal, { reason });
  return plainClient().workflow.getHandle<typeof vehicleLifecycle>(d.handle.workflowId).result();
}

describe('vehicle lifecycle workflow: the post-delivery satisfaction plan', () => {
  it('the state query shows the upcoming steps with their due windows in the customer\'s local time', async () => {
    await withWorker(async ({ deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 0, '11:00'));

      const state = await d.state();
      expect(state).toMatchObject({ phase: 'post-delivery', planVersion: 1, problemFound: false, caseIds: [], customerWindow: DEFAULT_CUSTOMER_WINDOW });
      expect(state.steps.map((s) => [s.key, s.status, local(s.dueStart), local(s.dueEnd), s.mandatory])).toEqual([
        [THANK_YOU, 'sent', local(onDay(deliveredAt, 0, '10:00')), local(onDay(deliveredAt, 0, '11:00')), false],
        [FAREWELL, 'sent', local(onDay(deliveredAt, 0, '10:30')), local(onDay(deliveredAt, 0, '11:30')), false],
        [CARE_SMS, 'scheduled', local(onDay(deliveredAt, 0, '12:00')), local(onDay(deliveredAt, 0, '13:00')), false],
        [CONSULTANT_CALL, 'scheduled', local(onDay(deliveredAt, 2, '09:00')), local(onDay(deliveredAt, 2, '20:00')), false],
        [SUPERVISOR_CALL, 'scheduled', local(onDay(deliveredAt, 4, '09:00')), local(onDay(deliveredAt, 6, '20:00')), false],
        [SURVEY_CALL, 'scheduled', local(onDay(deliveredAt, 7, '09:00')), local(onDay(deliveredAt, 7, '20:00')), false],
        [MANAGER_CALL, 'scheduled', local(onDay(deliveredAt, 8, '09:00')), local(onDay(deliveredAt, 10, '20:00')), false],
      ]);
      await endOwnership(d);
    });
  });

  it('every message goes out on time and every call task completed in its window counts as on time', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);

      const calls: [string, number, string][] = [[CONSULTANT_CALL, 2, '15:00'], [SUPERVISOR_CALL, 5, '11:00'], [SURVEY_CALL, 7, '10:00'], [MANAGER_CALL, 9, '16:00']];
      for (const [key, day, hhmm] of calls) {
        await skipTo(onDay(deliveredAt, day, hhmm));
        expect(await d.step(key)).toMatchObject({ status: 'open', followUpId: `fu-${d.input.deliveryId}-${key}` });
        await expect(d.complete(key, SATISFIED)).resolves.toEqual({ status: 'done_on_time', attempts: 1, nextAttemptAt: null, problem: false });
        expect(await d.step(key)).toMatchObject({ status: 'done_on_time', attempts: 1 });
      }

      expect(fake.callsOf('sendMessage').map((c) => [c.input.templateKey, c.input.channel, c.input.purpose, local(c.at)])).toEqual([
        [THANK_YOU, 'sms', 'service', local(onDay(deliveredAt, 0, '10:00'))],
        [FAREWELL, 'sms', 'service', local(onDay(deliveredAt, 0, '10:30'))],
        [CARE_SMS, 'sms', 'service', local(onDay(deliveredAt, 0, '12:00'))],
      ]);
      // A retried send must never reach the customer twice: one key per workflow and step.
      expect(new Set(fake.callsOf('sendMessage').map((c) => c.input.idempotencyKey)).size).toBe(3);
      expect(fake.callsOf('openFollowUp').map((c) => [c.input.stepKey, c.input.role, c.input.survey, c.input.mandatory, local(c.at)])).toEqual([
        [CONSULTANT_CALL, 'consultant', false, false, local(onDay(deliveredAt, 2, '09:00'))],
        [SUPERVISOR_CALL, 'supervisor', false, false, local(onDay(deliveredAt, 4, '09:00'))],
        [SURVEY_CALL, 'cr_specialist', true, false, local(onDay(deliveredAt, 7, '09:00'))],
        [MANAGER_CALL, 'manager', false, false, local(onDay(deliveredAt, 8, '09:00'))],
      ]);
      const consultantOpen = fake.callsOf('openFollowUp')[0].input;
      expect(consultantOpen.checklist).toEqual((DEFAULT_PLAN.steps[3] as CallStep).checklist);
      expect(consultantOpen.maxAttempts).toBe(3);

      // Once the last call's grace period is over, the plan is done and the ownership years begin.
      await skipTo(onDay(deliveredAt, 12, '21:00'));
      const state = await d.state();
      expect(state.phase).toBe('ownership');
      expect(state.steps.map((s) => s.status)).toEqual(['sent', 'sent', 'sent', 'done_on_time', 'done_on_time', 'done_on_time', 'done_on_time']);
      expect(fake.callsOf('closeFollowUp')).toEqual([]);
      expect(fake.callsOf('openEscalationCase')).toEqual([]);
      expect(fake.callsOf('markMandatory')).toEqual([]);

      expect(await endOwnership(d)).toMatchObject({ phase: 'ended', endedReason: 'vehicle sold' });
      await recordHistory(d.handle, 'all-calls-on-time');
    });
  });

  it('a call task nobody completes is closed as missed two days after its window closes', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      const dueEnd = onDay(deliveredAt, 2, '20:00');

      await skipTo(new Date(dueEnd.getTime() + MISSED_AFTER_MS - 30 * 60_000));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open' });
      expect(fake.callsOf('closeFollowUp')).toEqual([]);

      await skipTo(new Date(dueEnd.getTime() + MISSED_AFTER_MS + 30 * 60_000));
      const followUpId = `fu-${d.input.deliveryId}-${CONSULTANT_CALL}`;
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'missed', followUpId });
      const closed = fake.callsOf('closeFollowUp');
      expect(closed.map((c) => c.input)).toEqual([{ followUpId, status: 'missed' }]);
      expect(local(closed[0].at)).toBe(local(onDay(deliveredAt, 4, '20:00')));
      // Once missed, the task takes no outcome.
      await expect(d.complete(CONSULTANT_CALL, SATISFIED)).rejects.toThrow(WorkflowUpdateFailedError);

      await endOwnership(d);
      await recordHistory(d.handle, 'missed-call');
    });
  });

  it('a call completed after its window but within the grace period counts as late', async () => {
    await withWorker(async ({ deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 3, '10:00'));
      await expect(d.complete(CONSULTANT_CALL, SATISFIED)).resolves.toMatchObject({ status: 'done_late', attempts: 1 });
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'done_late' });
      await endOwnership(d);
    });
  });

  it('an unreachable customer is called again until the attempts run out, then the task fails and the plan moves on', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);

      await skipTo(onDay(deliveredAt, 2, '10:00'));
      const first = await d.complete(CONSULTANT_CALL, NOT_REACHED);
      expect(first).toMatchObject({ status: 'open', attempts: 1, problem: false });
      expect(local(first.nextAttemptAt!)).toBe(local(onDay(deliveredAt, 2, '12:00')));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open', attempts: 1, nextAttemptAt: first.nextAttemptAt });

      await skipTo(new Date(first.nextAttemptAt!));
      const second = await d.complete(CONSULTANT_CALL, NOT_REACHED);
      expect(second).toMatchObject({ status: 'open', attempts: 2 });
      expect(local(second.nextAttemptAt!)).toBe(local(onDay(deliveredAt, 2, '14:00')));

      await skipTo(new Date(second.nextAttemptAt!));
      await expect(d.complete(CONSULTANT_CALL, NOT_REACHED)).resolves.toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null });
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'failed', attempts: 3 });
      const rejected = await d.complete(CONSULTANT_CALL, NOT_REACHED).catch((err: unknown) => err);
      expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((rejected as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('TaskAlreadyClosed');

      await skipTo(onDay(deliveredAt, 5, '10:00'));
      expect(await d.step(SUPERVISOR_CALL)).toMatchObject({ status: 'open' });
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'failed' });
      // A failed task is closed already: the missed-call sweep leaves it alone.
      expect(fake.callsOf('closeFollowUp')).toEqual([]);
      // Each try carries its number, so a retried activity cannot count a try twice.
      expect(fake.callsOf('recordOutcome').map((c) => [c.input.attemptNumber, c.input.retryAfterMinutes])).toEqual([[1, 120], [2, 120], [3, 120]]);

      await endOwnership(d);
      await recordHistory(d.handle, 'unreachable-customer');
    });
  });

  it('a new contact window from the customer moves the calls that have not opened yet, not the open one', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      const evenings: ContactWindow = { start: '18:00', end: '21:00' };

      await skipTo(onDay(deliveredAt, 1, '10:00'));
      await d.handle.signal(contactWindowChangedSignal, evenings);
      const moved = await d.step(CONSULTANT_CALL);
      expect([moved.status, local(moved.dueStart), local(moved.dueEnd)]).toEqual(['scheduled', local(onDay(deliveredAt, 2, '18:00')), local(onDay(deliveredAt, 2, '21:00'))]);

      await skipTo(onDay(deliveredAt, 2, '10:00'));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'scheduled' });
      expect(fake.callsOf('openFollowUp')).toEqual([]);

      await skipTo(onDay(deliveredAt, 2, '18:30'));
      const opened = fake.callsOf('openFollowUp');
      expect(opened.map((c) => [c.input.stepKey, local(c.at), local(c.input.dueStart), local(c.input.dueEnd)])).toEqual([
        [CONSULTANT_CALL, local(onDay(deliveredAt, 2, '18:00')), local(onDay(deliveredAt, 2, '18:00')), local(onDay(deliveredAt, 2, '21:00'))],
      ]);

      // Back to the default window: the open call keeps the window it was opened with.
      await d.handle.signal(contactWindowChangedSignal, DEFAULT_CUSTOMER_WINDOW);
      const state = await d.state();
      expect(state.customerWindow).toEqual(DEFAULT_CUSTOMER_WINDOW);
      const open = state.steps.find((s) => s.key === CONSULTANT_CALL)!;
      const next = state.steps.find((s) => s.key === SUPERVISOR_CALL)!;
      expect([open.status, local(open.dueEnd)]).toEqual(['open', local(onDay(deliveredAt, 2, '21:00'))]);
      expect([next.status, local(next.dueStart), local(next.dueEnd)]).toEqual(['scheduled', local(onDay(deliveredAt, 4, '09:00')), local(onDay(deliveredAt, 6, '20:00'))]);

      await endOwnership(d);
      await recordHistory(d.handle, 'contact-window-changed');
    });
  });

  it('quiet hours hold the farewell SMS of a 19:50 delivery until 09:00, and the 2-hour care SMS, past its 12 hours by then, expires unsent', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('19:50');
      const d = await deliver(deliveredAt);

      await skipTo(onDay(deliveredAt, 0, '23:00'));
      expect(fake.callsOf('sendMessage').map((c) => [c.input.templateKey, local(c.at)])).toEqual([[THANK_YOU, local(deliveredAt)]]);
      const care = await d.step(CARE_SMS);
      expect([care.status, local(care.dueStart)]).toEqual(['scheduled', local(onDay(deliveredAt, 1, '09:00'))]);

      await skipTo(onDay(deliveredAt, 1, '09:30'));
      // "Did you get home safely?" the next morning would be odd: the plan's 12-hour limit expires it.
      expect(fake.callsOf('sendMessage').map((c) => `${local(c.at)} ${c.input.templateKey}`)).toEqual([
        `${local(onDay(deliveredAt, 0, '19:50'))} ${THANK_YOU}`,
        `${local(onDay(deliveredAt, 1, '09:00'))} ${FAREWELL}`,
      ]);
      // The farewell may go out until a day after the delivery: its send carries that limit.
      expect(fake.callsOf('sendMessage')[1].input.notAfter).toBe(new Date(deliveredAt.getTime() + 24 * 3600_000).toISOString());
      expect(await d.step(CARE_SMS)).toMatchObject({ status: 'expired' });
      expect((await d.step(CARE_SMS)).messageId).toBeUndefined();

      await endOwnership(d);
      await recordHistory(d.handle, 'quiet-hours-expired-care-sms');
    });
  });

  it('a dissatisfied day-7 answer opens a case and makes the manager call mandatory', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      const surveyId = `fu-${d.input.deliveryId}-${SURVEY_CALL}`;

      await skipTo(onDay(deliveredAt, 7, '10:00'));
      const answer = await d.complete(SURVEY_CALL, { reached: true, satisfied: false, csat: 2 });
      expect(answer).toMatchObject({ status: 'done_on_time', problem: true, caseId: `case-${surveyId}-dissatisfied` });
      expect(fake.callsOf('openEscalationCase').map((c) => c.input)).toEqual([{ deliveryId: d.input.deliveryId, followUpId: surveyId, reason: 'dissatisfied' }]);
      const state = await d.state();
      expect(state).toMatchObject({ problemFound: true, caseIds: [answer.caseId] });
      expect(state.steps.find((s) => s.key === MANAGER_CALL)).toMatchObject({ status: 'scheduled', mandatory: true });

      await skipTo(onDay(deliveredAt, 8, '10:00'));
      const managerOpen = fake.callsOf('openFollowUp').find((c) => c.input.stepKey === MANAGER_CALL);
      expect(managerOpen?.input).toMatchObject({ role: 'manager', mandatory: true });
      expect(await d.step(MANAGER_CALL)).toMatchObject({ status: 'open', mandatory: true });
      // Only the manager's call is made mandatory by the plan; the others are as they were.
      expect((await d.state()).steps.filter((s) => s.mandatory).map((s) => s.key)).toEqual([MANAGER_CALL]);

      await endOwnership(d);
      await recordHistory(d.handle, 'dissatisfied-survey');
    });
  });

  it('a late complaint in the survey marks the manager call that is already open as mandatory', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);

      await skipTo(onDay(deliveredAt, 8, '10:00'));
      const manager = await d.step(MANAGER_CALL);
      expect(manager).toMatchObject({ status: 'open', mandatory: false });

      const answer = await d.complete(SURVEY_CALL, { reached: true, satisfied: true, csat: 4, complaint: 'scratch on the rear door' });
      expect(answer).toMatchObject({ status: 'done_late', problem: true });
      expect(fake.callsOf('openEscalationCase').map((c) => c.input)).toMatchObject([{ reason: 'complaint', detail: 'scratch on the rear door' }]);
      expect(fake.callsOf('markMandatory').map((c) => c.input)).toEqual([{ followUpId: manager.followUpId }]);
      expect(await d.step(MANAGER_CALL)).toMatchObject({ status: 'open', mandatory: true });

      await endOwnership(d);
      await recordHistory(d.handle, 'late-complaint');
    });
  });

  it('a survey answer that arrives while the manager call is being opened still makes that call mandatory', async () => {
    let d: Delivery | undefined;
    let answered: Promise<unknown> | undefined;
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 8, '10:00'));
      await answered;
      const manager = await d.step(MANAGER_CALL);
      await endOwnership(d);
      await recordHistory(d.handle, 'answer-while-opening-manager-call');

      const managerId = `fu-${d.input.deliveryId}-${MANAGER_CALL}`;
      expect(fake.callsOf('openFollowUp').find((c) => c.input.stepKey === MANAGER_CALL)?.input.mandatory).toBe(false);
      expect(fake.callsOf('markMandatory').map((c) => c.input)).toEqual([{ followUpId: managerId }]);
      expect(manager).toMatchObject({ status: 'open', mandatory: true, followUpId: managerId });
    }, {
      // The CR specialist records a late, dissatisfied answer at the very moment the manager's task is written.
      whileOpening: async (input) => {
        if (input.stepKey !== MANAGER_CALL || !d) return;
        answered = d.complete(SURVEY_CALL, { reached: true, satisfied: false });
        await answered;
      },
    });
  });

  it('a satisfied survey answer opens no case and leaves the manager call optional', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 7, '10:00'));
      await expect(d.complete(SURVEY_CALL, SATISFIED)).resolves.toMatchObject({ status: 'done_on_time', problem: false });
      await skipTo(onDay(deliveredAt, 8, '10:00'));
      expect(fake.callsOf('openEscalationCase')).toEqual([]);
      expect(fake.callsOf('openFollowUp').find((c) => c.input.stepKey === MANAGER_CALL)?.input.mandatory).toBe(false);
      await endOwnership(d);
    });
  });

  it('a complaint at the supervisor call opens a case too and makes the manager call mandatory', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      const supervisorId = `fu-${d.input.deliveryId}-supervisor-call-day-4-6`;

      await skipTo(onDay(deliveredAt, 4, '10:00'));
      const answer = await d.complete('supervisor-call-day-4-6', { reached: true, satisfied: true, complaint: '交车时承诺的脚垫未送' });
      expect(answer).toMatchObject({ status: 'done_on_time', problem: true });
      expect(fake.callsOf('openEscalationCase').map((c) => c.input)).toEqual([
        { deliveryId: d.input.deliveryId, followUpId: supervisorId, reason: 'complaint', detail: '交车时承诺的脚垫未送' },
      ]);
      expect((await d.state()).steps.find((s) => s.key === MANAGER_CALL)).toMatchObject({ status: 'scheduled', mandatory: true });
      await endOwnership(d);
      await recordHistory(d.handle, 'supervisor-complaint');
    });
  });

  it('once every call is closed the plan ends without waiting for the missed-call timers', async () => {
    await withWorker(async ({ deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      for (const [day, key] of [[2, 'consultant-call-day-2'], [4, 'supervisor-call-day-4-6'], [7, SURVEY_CALL], [8, MANAGER_CALL]] as const) {
        await skipTo(onDay(deliveredAt, day, '10:00'));
        await d.complete(key, { reached: true, satisfied: true });
      }
      await skipTo(onDay(deliveredAt, 8, '11:00'));
      expect((await d.state()).phase).toBe('ownership');
      await endOwnership(d);
      await recordHistory(d.handle, 'all-calls-closed-early');
    });
  });

  it('a customer who asks to be called back tomorrow gets the call then, but the required window and the missed-call deadline stay', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '19:00'));
      const moved = await d.handle.executeUpdate(rescheduleTaskUpdate, { args: [{ stepKey: CONSULTANT_CALL, requestedAt: onDay(deliveredAt, 3, '10:00').toISOString() }] });
      expect([local(moved.requestedAt), local(moved.nextAttemptAt)]).toEqual([local(onDay(deliveredAt, 3, '10:00')), local(onDay(deliveredAt, 3, '10:00'))]);
      expect(fake.callsOf('rescheduleFollowUp')).toHaveLength(1);
      const step = await d.step(CONSULTANT_CALL);
      expect([step.status, local(step.dueStart), local(step.dueEnd), local(step.requestedAt!), local(step.nextAttemptAt!)]).toEqual([
        'open', local(onDay(deliveredAt, 2, '09:00')), local(onDay(deliveredAt, 2, '20:00')), local(onDay(deliveredAt, 3, '10:00')), local(onDay(deliveredAt, 3, '10:00')),
      ]);

      // Missed two days after the required window, as if nobody had asked.
      await skipTo(onDay(deliveredAt, 4, '21:00'));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'missed' });
      expect(local(fake.callsOf('closeFollowUp')[0].at)).toBe(local(onDay(deliveredAt, 4, '20:00')));
      await endOwnership(d);
    });
  });

  it('a reschedule of an overdue call stays late: the call made at the requested time counts as done late', async () => {
    await withWorker(async ({ deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      // Overdue since 20:00 the evening before; the customer asks for a call in two minutes.
      await skipTo(onDay(deliveredAt, 3, '10:00'));
      await d.handle.executeUpdate(rescheduleTaskUpdate, { args: [{ stepKey: CONSULTANT_CALL, requestedAt: onDay(deliveredAt, 3, '10:02').toISOString() }] });
      await skipTo(onDay(deliveredAt, 3, '10:05'));
      await expect(d.complete(CONSULTANT_CALL, SATISFIED)).resolves.toMatchObject({ status: 'done_late' });
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'done_late', dueEnd: onDay(deliveredAt, 2, '20:00').toISOString() });
      await endOwnership(d);
      await recordHistory(d.handle, 'overdue-call-rescheduled');
    });
  });

  it('refuses a call-back time after the task would be closed as missed, or in the past, before it reaches the history', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      for (const at of [onDay(deliveredAt, 5, '10:00'), new Date('9999-12-31T00:00:00Z'), onDay(deliveredAt, 1, '10:00')]) {
        const refused = await d.handle.executeUpdate(rescheduleTaskUpdate, { args: [{ stepKey: CONSULTANT_CALL, requestedAt: at.toISOString() }] }).catch((err: unknown) => err);
        expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('InvalidRequest');
      }
      expect(fake.callsOf('rescheduleFollowUp')).toEqual([]);
      await expect(d.complete(CONSULTANT_CALL, SATISFIED)).resolves.toMatchObject({ status: 'done_on_time' });
      await endOwnership(d);
    });
  });

  it('an SMS the carrier refuses for good is marked undeliverable and the plan goes on', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 0, '13:00'));
      expect((await d.state()).steps.slice(0, 3).map((s) => [s.key, s.status])).toEqual([[THANK_YOU, 'sent'], [FAREWELL, 'undeliverable'], [CARE_SMS, 'sent']]);
      // A non-retryable failure is not retried: one attempt per step.
      expect(fake.callsOf('sendMessage').map((c) => c.input.templateKey)).toEqual([THANK_YOU, FAREWELL, CARE_SMS]);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open' });
      await endOwnership(d);
    }, {
      sendMessage: (input) => {
        if (input.templateKey === FAREWELL) throw ApplicationFailure.nonRetryable('invalid number', 'InvalidRecipient');
        return undefined;
      },
    });
  });

  it('a message the frequency cap holds back waits for the time the send names, then goes out once', async () => {
    let capLiftsAt: Date | undefined;
    let careTries = 0;
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      capLiftsAt = onDay(deliveredAt, 0, '15:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 0, '13:00'));
      const held = await d.step(CARE_SMS);
      expect([held.status, local(held.nextAttemptAt!)]).toEqual(['scheduled', local(capLiftsAt)]);

      await skipTo(onDay(deliveredAt, 0, '15:30'));
      const sends = fake.callsOf('sendMessage').filter((c) => c.input.templateKey === CARE_SMS);
      expect(sends.map((c) => local(c.at))).toEqual([local(onDay(deliveredAt, 0, '12:00')), local(capLiftsAt)]);
      // The same key both times: the provider sees one message.
      expect(new Set(sends.map((c) => c.input.idempotencyKey)).size).toBe(1);
      const sent = await d.step(CARE_SMS);
      expect(sent).toMatchObject({ status: 'sent', messageId: `msg-${d.input.deliveryId}-${CARE_SMS}` });
      expect(sent.nextAttemptAt).toBeUndefined();
      await endOwnership(d);
      await recordHistory(d.handle, 'message-deferred');
    }, {
      sendMessage: (input) => {
        if (input.templateKey !== CARE_SMS || careTries++ > 0) return undefined;
        return { messageId: `msg-${input.deliveryId}-${input.templateKey}`, status: 'deferred', reason: 'frequency-cap', notBefore: capLiftsAt!.toISOString() };
      },
    });
  });

  it('a plan change reaches new deliveries only: a running workflow keeps the plan it started with', async () => {
    await withWorker(async ({ fake, deliver }) => {
      // Version 2 of the store's plan calls on day 3 instead of day 2, and drops the farewell SMS.
      const planV2: LifecycleInput['plan'] = {
        id: 'plan-v2',
        version: 2,
        // Validated as the API validates a store's new plan.
        steps: ContactPlanSchema.parse({
          steps: DEFAULT_PLAN.steps
            .filter((s) => s.key !== FAREWELL)
            .map((s) => (s.key === CONSULTANT_CALL ? { ...s, key: 'consultant-call-day-3', timing: { type: 'days', fromDay: 3, toDay: 3 } } : s)),
        }).steps,
      };
      const deliveredAt = await clockAt('10:00');
      const before = await deliver(deliveredAt, { plan: PLAN_V1 });
      await skipTo(onDay(deliveredAt, 0, '10:05'));
      const after = await deliver(new Date(await env.currentTimeMs()), { plan: planV2 });

      await skipTo(onDay(deliveredAt, 2, '10:00'));
      const v1 = await before.state();
      const v2 = await after.state();
      expect(v1.planVersion).toBe(1);
      expect(v2.planVersion).toBe(2);
      expect(v1.steps.map((s) => s.key)).toEqual([THANK_YOU, FAREWELL, CARE_SMS, CONSULTANT_CALL, SUPERVISOR_CALL, SURVEY_CALL, MANAGER_CALL]);
      expect(v2.steps.map((s) => s.key)).toEqual([THANK_YOU, CARE_SMS, 'consultant-call-day-3', SUPERVISOR_CALL, SURVEY_CALL, MANAGER_CALL]);
      expect(v1.steps.find((s) => s.key === CONSULTANT_CALL)?.status).toBe('open');
      expect(v2.steps.find((s) => s.key === 'consultant-call-day-3')?.status).toBe('scheduled');
      expect(fake.callsOf('sendMessage').filter((c) => c.input.deliveryId === after.input.deliveryId).map((c) => c.input.templateKey)).toEqual([THANK_YOU, CARE_SMS]);

      await skipTo(onDay(deliveredAt, 3, '10:00'));
      expect(await after.step('consultant-call-day-3')).toMatchObject({ status: 'open' });
      const opened = fake.callsOf('openFollowUp').map((c) => [c.input.deliveryId, c.input.stepKey, local(c.at)]);
      expect(opened).toEqual([
        [before.input.deliveryId, CONSULTANT_CALL, local(onDay(deliveredAt, 2, '09:00'))],
        [after.input.deliveryId, 'consultant-call-day-3', local(onDay(deliveredAt, 3, '09:00'))],
      ]);

      await Promise.all([endOwnership(before), endOwnership(after)]);
    });
  });

  it('ending the ownership keeps missed calls missed and cancels only the calls not yet over, and records the end', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      // Day 5: the day-2 call's window closed three days ago (still open, inside the grace period);
      // the supervisor's is open and inside its window; the rest are not due yet.
      await skipTo(onDay(deliveredAt, 4, '11:00'));
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open' });
      expect(await d.step(SUPERVISOR_CALL)).toMatchObject({ status: 'open' });

      await d.handle.signal(ownershipEndedSignal, { reason: 'sold', endedAt: onDay(deliveredAt, 4, '09:00').toISOString() });
      const final = await plainClient().workflow.getHandle<typeof vehicleLifecycle>(d.handle.workflowId).result();
      expect(final).toMatchObject({ phase: 'ended', endedReason: 'sold' });
      expect(final.steps.map((s) => [s.key, s.status])).toEqual([
        [THANK_YOU, 'sent'], [FAREWELL, 'sent'], [CARE_SMS, 'sent'],
        [CONSULTANT_CALL, 'missed'], [SUPERVISOR_CALL, 'cancelled'], [SURVEY_CALL, 'cancelled'], [MANAGER_CALL, 'cancelled'],
      ]);
      expect(fake.callsOf('closeFollowUp').map((c) => c.input).sort((a, b) => a.status.localeCompare(b.status))).toEqual([
        { followUpId: `fu-${d.input.deliveryId}-${SUPERVISOR_CALL}`, status: 'cancelled' },
        { followUpId: `fu-${d.input.deliveryId}-${CONSULTANT_CALL}`, status: 'missed' },
      ]);
      expect(fake.callsOf('endDelivery').map((c) => c.input)).toEqual([{ deliveryId: d.input.deliveryId, reason: 'sold', endedAt: onDay(deliveredAt, 4, '09:00').toISOString() }]);
      await recordHistory(d.handle, 'ownership-ended-keeps-missed');
    });
  });

  it('after a year of ownership the workflow continues as new and carries its state', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 7, '10:00'));
      await d.complete(SURVEY_CALL, { reached: true, satisfied: false });
      await skipTo(onDay(deliveredAt, 13, '10:00'));
      const firstRun = await d.handle.describe();
      const before = await d.state();
      expect(before.phase).toBe('ownership');

      await skipTo(onDay(deliveredAt, 13 + 366, '10:00'));
      const firstRunHandle = env.client.workflow.getHandle(d.handle.workflowId, firstRun.runId);
      expect((await firstRunHandle.describe()).status.name).toBe('CONTINUED_AS_NEW');
      const latest = await env.client.workflow.getHandle(d.handle.workflowId).describe();
      expect(latest.runId).not.toBe(firstRun.runId);
      expect(latest.status.name).toBe('RUNNING');

      // The query goes to the new run: the same plan steps, outcomes and cases, and nothing of the plan is sent or opened again.
      // (The year's maintenance reminders and call went meanwhile: closed steps of the years are not carried.)
      const after = await env.client.workflow.getHandle(d.handle.workflowId).query(stateQuery);
      const planKeys = new Set(PLAN_V1.steps.map((s) => s.key));
      const withoutYears = ({ years: _years, steps, ...rest }: LifecycleState) => ({ ...rest, steps: steps.filter((s) => planKeys.has(s.key)) });
      expect(withoutYears(after)).toEqual(withoutYears(before));
      expect(after.years?.cycles.find((c) => c.kind === 'maintenance')?.key).toBe('maintenance-2');
      expect(after).toMatchObject({ phase: 'ownership', planVersion: 1, problemFound: true, caseIds: [`case-fu-${d.input.deliveryId}-${SURVEY_CALL}-dissatisfied`] });
      expect(fake.callsOf('sendMessage').filter((c) => planKeys.has(c.input.templateKey))).toHaveLength(3);
      expect(fake.callsOf('openFollowUp').filter((c) => planKeys.has(c.input.stepKey))).toHaveLength(4);

      await recordHistory(d.handle, 'continued-as-new', firstRun.runId);
      expect(await endOwnership(d)).toMatchObject({ phase: 'ended', caseIds: after.caseIds });
    });
  });
});

describe('vehicle lifecycle workflow: one writer for every answer', () => {
  it('two completes of the same task at once: the first is recorded, the second gets a clear TaskAlreadyClosed', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 7, '10:00'));

      const results = await Promise.allSettled([
        d.complete(SURVEY_CALL, { reached: true, satisfied: true, csat: 5 }),
        d.complete(SURVEY_CALL, { reached: true, satisfied: false, csat: 1 }),
      ]);
      const recorded = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(recorded).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(((refused[0].reason as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('TaskAlreadyClosed');
      // One outcome reached the database, as attempt 1; nothing silently replaced it.
      expect(fake.callsOf('recordOutcome').map((c) => c.input.attemptNumber)).toEqual([1]);
      await endOwnership(d);
      await recordHistory(d.handle, 'two-completes-at-once');
    });
  });

  it('two unreached attempts recorded at once count as attempts 1 and 2, never the same attempt twice', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      const [a, b] = await Promise.all([d.complete(CONSULTANT_CALL, NOT_REACHED), d.complete(CONSULTANT_CALL, NOT_REACHED)]);
      expect([a.attempts, b.attempts].sort()).toEqual([1, 2]);
      expect(fake.callsOf('recordOutcome').map((c) => c.input.attemptNumber)).toEqual([1, 2]);
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open', attempts: 2 });
      await endOwnership(d);
    });
  });

  it('a retried request with the same Idempotency-Key (update ID) records one attempt and answers as the first did', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      const first = await d.complete(CONSULTANT_CALL, NOT_REACHED, 'complete:task-1:key-abc');
      const retried = await d.complete(CONSULTANT_CALL, NOT_REACHED, 'complete:task-1:key-abc');
      expect(retried).toEqual(first);
      expect(fake.callsOf('recordOutcome')).toHaveLength(1);
      expect(await d.step(CONSULTANT_CALL)).toMatchObject({ status: 'open', attempts: 1 });
      // Another key is another call.
      await expect(d.complete(CONSULTANT_CALL, NOT_REACHED, 'complete:task-1:key-def')).resolves.toMatchObject({ attempts: 2 });
      await endOwnership(d);
    });
  });

  it('an SMS CSAT of 1-2 for the survey opens a case and makes the manager call mandatory, as a call would', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      const surveyId = `fu-${d.input.deliveryId}-${SURVEY_CALL}`;
      await skipTo(onDay(deliveredAt, 7, '12:00'));

      const result = await d.answer({ kind: 'score', stepKey: SURVEY_CALL, channel: 'sms', csat: 2, answeredAt: onDay(deliveredAt, 7, '11:58').toISOString(), inboundMessageId: 'inbound-1' }, 'inbound-inbound-1');
      expect(result).toMatchObject({ status: 'open', problem: true, caseId: `case-${surveyId}-dissatisfied` });
      expect(fake.callsOf('recordSurveyScore').map((c) => c.input)).toEqual([{ followUpId: surveyId, csat: 2, channel: 'sms' }]);
      expect(fake.callsOf('openEscalationCase').map((c) => c.input)).toEqual([{ deliveryId: d.input.deliveryId, followUpId: surveyId, reason: 'dissatisfied', detail: 'sms survey answer 2/5', inboundMessageId: 'inbound-1' }]);
      expect(await d.state()).toMatchObject({ problemFound: true, caseIds: [result.caseId] });
      expect(await d.step(MANAGER_CALL)).toMatchObject({ status: 'scheduled', mandatory: true });
      // The survey call is still to be made: a written score does not close it.
      expect(await d.step(SURVEY_CALL)).toMatchObject({ status: 'open' });

      await skipTo(onDay(deliveredAt, 8, '10:00'));
      expect(fake.callsOf('openFollowUp').find((c) => c.input.stepKey === MANAGER_CALL)?.input.mandatory).toBe(true);
      await endOwnership(d);
      await recordHistory(d.handle, 'sms-survey-score-dissatisfied');
    });
  });

  it('a written score for a step that is not a survey under way is refused', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      for (const stepKey of [CONSULTANT_CALL, SURVEY_CALL]) {
        const refused = await d.answer({ kind: 'score', stepKey, channel: 'sms', csat: 1, answeredAt: onDay(deliveredAt, 2, '10:00').toISOString(), inboundMessageId: `in-${stepKey}` }).catch((err: unknown) => err);
        expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('RecordNotFound');
      }
      expect(fake.callsOf('recordSurveyScore')).toEqual([]);
      await endOwnership(d);
    });
  });

  it('a customer who writes back in their own words gets a case for CR staff, and the plan is not changed', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      const d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 1, '10:00'));
      const result = await d.answer({ kind: 'reply', channel: 'sms', answeredAt: onDay(deliveredAt, 1, '10:00').toISOString(), inboundMessageId: 'inbound-7' });
      expect(result).toMatchObject({ status: null, caseId: 'case-inbound-7-customer-reply' });
      expect(fake.callsOf('openEscalationCase').map((c) => c.input)).toEqual([{ deliveryId: d.input.deliveryId, inboundMessageId: 'inbound-7', reason: 'customer-reply', detail: 'the customer wrote back by sms' }]);
      expect(await d.state()).toMatchObject({ problemFound: false, caseIds: [result.caseId] });
      await endOwnership(d);
    });
  });
});

describe('vehicle lifecycle workflow: deliveries that reach the system late', () => {
  it('a delivery recorded a week after the fact sends no expired SMS, and its long-closed calls close at once', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const now = await clockAt('10:00');
      const deliveredAt = new Date(now.getTime() - 7 * 24 * 3600_000);
      const d = await deliver(deliveredAt);
      await skipTo(new Date(now.getTime() + 60_000));

      expect(fake.callsOf('sendMessage')).toEqual([]);
      const state = await d.state();
      expect(state.steps.map((s) => [s.key, s.status])).toEqual([
        [THANK_YOU, 'expired'], [FAREWELL, 'expired'], [CARE_SMS, 'expired'],
        [CONSULTANT_CALL, 'missed'], [SUPERVISOR_CALL, 'open'], [SURVEY_CALL, 'open'], [MANAGER_CALL, 'scheduled'],
      ]);
      // The calls are written anyway (the activity marks those whose window had closed as recorded late).
      expect(fake.callsOf('openFollowUp').map((c) => c.input.stepKey).sort()).toEqual([CONSULTANT_CALL, SURVEY_CALL, SUPERVISOR_CALL].sort());
      await endOwnership(d);
      await recordHistory(d.handle, 'backfilled-delivery');
    });
  });
});

describe('vehicle lifecycle workflow: input it could never run', () => {
  it('fails once, visibly, on a delivery dated in year 9999 instead of failing its task on every retry', async () => {
    await withWorker(async ({ fake, deliver }) => {
      const d = await deliver(new Date('9999-12-31T00:00:00Z'));
      const failure = await plainClient().workflow.getHandle(d.handle.workflowId).result().catch((err: unknown) => err);
      expect((failure as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
      expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidWorkflowInput');
      expect(fake.calls).toEqual([]);
    });
  });
});

describe('vehicle lifecycle workflow: a task staff see a moment before the workflow does', () => {
  it('an outcome recorded while the task row is being written waits until the workflow hears the task is open, then counts', async () => {
    let d: Delivery | undefined;
    let answered: Promise<unknown> | undefined;
    await withWorker(async ({ fake, deliver }) => {
      const deliveredAt = await clockAt('10:00');
      d = await deliver(deliveredAt);
      await skipTo(onDay(deliveredAt, 2, '10:00'));
      await expect(answered).resolves.toMatchObject({ status: 'done_on_time', attempts: 1 });
      expect(fake.callsOf('recordOutcome').map((c) => c.input.attemptNumber)).toEqual([1]);
      await endOwnership(d);
      await recordHistory(d.handle, 'answer-while-task-being-written');
    }, {
      // The row is committed and the consultant, who sees it in the inbox, records the call at once.
      whileOpening: async (input) => {
        if (input.stepKey !== CONSULTANT_CALL || !d || answered) return;
        answered = d.complete(CONSULTANT_CALL, SATISFIED);
        await new Promise((resolve) => setTimeout(resolve, 500));
      },
    });
  });
});
