import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { DateTime } from 'luxon';
import pino from 'pino';
import { createFollowUpActivities, OpenFollowUpInput, RecordOutcomeInput } from '../../src/activities/follow-ups';
import type { Db } from '../../src/db/client';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { createTestDatabase } from '../helpers/db';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

const TZ = 'Asia/Shanghai';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
const logLines: string[] = [];
let activities: ReturnType<typeof createFollowUpActivities>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  activities = createFollowUpActivities({ db, logger, ...recordingCaseWorkflows() });
});

afterAll(async () => {
  await t?.drop();
});

/** A store-local wall-clock time, e.g. "2026-03-02 17:00". */
function shanghai(localTime: string): Date {
  return DateTime.fromFormat(localTime, 'yyyy-MM-dd HH:mm', { zone: TZ }).toJSDate();
}

/** Runs an activity as Temporal would, on its first try or (attempt > 1) as a retry. */
// Expected failures are asserted, not logged.
const quiet = { logger: new DefaultLogger('ERROR') };
function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({}, quiet).run(fn, ...args);
}
function retry<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({ attempt: 2 }, quiet).run(fn, ...args);
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

let stores = 0;
let loadTasks = 0;

/** A store with its staff, one customer, one vehicle, the default plan and one delivery, seeded directly. */
async function seedDelivery(opts: { contactWindow?: { start: string; end: string }; staff?: { key: string; role: string; active?: boolean }[] } = {}) {
  const storeId = `store-${++stores}`;
  await db.store.create({ data: { id: storeId, name: `Test store ${stores}`, timeZone: TZ } });
  const staff: Record<string, string> = {};
  const members = [{ key: 'consultant', role: 'consultant' }, ...(opts.staff ?? [])];
  for (const [i, m] of members.entries()) {
    // Explicit creation times: ties in load go to the longest-serving member.
    const row = await db.staff.create({
      data: { storeId, externalId: `${m.key}-ext`, name: `Staff ${m.key}`, role: m.role, active: m.active ?? true, createdAt: new Date(Date.UTC(2026, 0, 1 + i)) },
    });
    staff[m.key] = row.id;
  }
  const customer = await db.customer.create({
    data: {
      storeId, externalId: 'customer-1', name: 'Test Customer', phone: '+8613800000001', email: 'customer@example.com',
      contactWindowStart: opts.contactWindow?.start ?? '09:00', contactWindowEnd: opts.contactWindow?.end ?? '20:00',
    },
  });
  const vehicle = await db.vehicle.create({ data: { storeId, vin: 'LSVAB4182E2100001', model: 'Test Model' } });
  const plan = await db.contactPlan.create({ data: { storeId, version: 1, steps: DEFAULT_PLAN.steps, createdBy: 'test' } });
  const delivery = await db.delivery.create({
    data: {
      storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: staff.consultant, deliveredAt: shanghai('2026-03-01 10:00'),
      workflowId: `vehicle-${storeId}-LSVAB4182E2100001`, planId: plan.id,
    },
  });
  return { storeId, staff, customerId: customer.id, deliveryId: delivery.id };
}

function callInput(deliveryId: string, overrides: Partial<OpenFollowUpInput> = {}): OpenFollowUpInput {
  return {
    deliveryId, stepKey: 'consultant-call-day-2', role: 'consultant', checklist: ['询问车辆使用情况'], survey: false, mandatory: false,
    maxAttempts: 3, dueStart: shanghai('2026-03-03 09:00').toISOString(), dueEnd: shanghai('2026-03-03 20:00').toISOString(), ...overrides,
  };
}

/** Open follow-ups of other deliveries' steps, to give a staff member work. */
async function giveWork(storeId: string, deliveryId: string, assigneeId: string, open: number, closed = 0): Promise<void> {
  for (let i = 0; i < open + closed; i++) {
    await db.followUp.create({
      data: {
        storeId, deliveryId, stepKey: `load-${++loadTasks}`, kind: 'call', role: 'any', channel: 'phone', assigneeId, checklist: [],
        dueStart: new Date(), dueEnd: new Date(), status: i < open ? 'open' : 'done_on_time',
      },
    });
  }
}

function outcome(followUpId: string, completedAt: string, o: RecordOutcomeInput['outcome'], extra: Partial<RecordOutcomeInput> = {}): RecordOutcomeInput {
  return { followUpId, completedAt: shanghai(completedAt).toISOString(), outcome: o, retryAfterMinutes: 120, attemptNumber: 1, ...extra };
}

describe('openFollowUp', () => {
  it('writes the consultant call for the consultant who made the deal, and opening it again returns the same task', async () => {
    const s = await seedDelivery();
    const first = await run(activities.openFollowUp, callInput(s.deliveryId));
    const again = await retry(activities.openFollowUp, callInput(s.deliveryId));

    expect(first).toEqual({ followUpId: expect.any(String), assigneeId: s.staff.consultant });
    expect(again).toEqual(first);
    const rows = await db.followUp.findMany({ where: { deliveryId: s.deliveryId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      storeId: s.storeId, stepKey: 'consultant-call-day-2', kind: 'call', role: 'consultant', channel: 'phone', status: 'open', attempts: 0,
      maxAttempts: 3, survey: false, mandatory: false, checklist: ['询问车辆使用情况'],
      dueStart: shanghai('2026-03-03 09:00'), dueEnd: shanghai('2026-03-03 20:00'),
    });
  });

  it('gives a supervisor call to the active supervisor of the store with the fewest open tasks', async () => {
    const s = await seedDelivery({
      staff: [
        { key: 'senior', role: 'supervisor' },
        { key: 'busy-with-closed', role: 'supervisor' },
        { key: 'on-leave', role: 'supervisor', active: false },
        { key: 'manager', role: 'manager' },
      ],
    });
    const other = await seedDelivery({ staff: [{ key: 'elsewhere', role: 'supervisor' }] });
    await giveWork(s.storeId, s.deliveryId, s.staff.senior, 2);
    await giveWork(s.storeId, s.deliveryId, s.staff['busy-with-closed'], 1, 5);

    const opened = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'supervisor-call-day-4-6', role: 'supervisor' }));
    expect(opened.assigneeId).toBe(s.staff['busy-with-closed']);
    expect(opened.assigneeId).not.toBe(other.staff.elsewhere);
  });

  it('breaks a tie in load in favour of the longest-serving holder of the role', async () => {
    const s = await seedDelivery({ staff: [{ key: 'first', role: 'cr_specialist' }, { key: 'second', role: 'cr_specialist' }] });
    const opened = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'cr-satisfaction-call-day-7', role: 'cr_specialist', survey: true }));
    expect(opened.assigneeId).toBe(s.staff.first);
    expect(await db.followUp.findUniqueOrThrow({ where: { id: opened.followUpId } })).toMatchObject({ survey: true, assigneeId: s.staff.first });
  });

  it('writes the task unassigned, and warns with IDs only, when nobody at the store holds the role', async () => {
    const s = await seedDelivery();
    const opened = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'manager-call-day-8-10', role: 'manager', mandatory: true }));
    expect(opened.assigneeId).toBeNull();
    expect(await db.followUp.findUniqueOrThrow({ where: { id: opened.followUpId } })).toMatchObject({ assigneeId: null, mandatory: true });
    const warning = logLines.map((l) => JSON.parse(l)).find((l) => l.followUpId === opened.followUpId);
    expect(warning).toMatchObject({ storeId: s.storeId, role: 'manager', msg: expect.stringContaining('unassigned') });
  });

  it('fails for good when the delivery is unknown', async () => {
    const failure = await failureOf(run(activities.openFollowUp, callInput('00000000-0000-4000-8000-000000000000')));
    expect(failure).toMatchObject({ type: 'RecordNotFound', nonRetryable: true });
  });
});

describe('recordOutcome', () => {
  async function openCall(opts: Parameters<typeof seedDelivery>[0] = {}, maxAttempts = 3) {
    const s = await seedDelivery(opts);
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId, { maxAttempts }));
    return { ...s, followUpId };
  }

  it('a customer reached inside the window completes the task on time, with the answers', async () => {
    const c = await openCall();
    const answer = { reached: true, satisfied: true, csat: 5, nps: 9, promisesKept: true, contactDataCorrect: true, note: 'all good' };
    const result = await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-03 15:00', answer));
    expect(result).toEqual({ status: 'done_on_time', attempts: 1, nextAttemptAt: null, problem: false });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: c.followUpId } })).toMatchObject({
      status: 'done_on_time', attempts: 1, reached: true, satisfied: true, csat: 5, nps: 9, promisesKept: true, contactDataCorrect: true,
      note: 'all good', completedAt: shanghai('2026-03-03 15:00'), nextAttemptAt: null,
    });
  });

  it('a customer reached after the window closed completes the task late', async () => {
    const c = await openCall();
    const result = await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-04 10:00', { reached: true, satisfied: true }));
    expect(result).toMatchObject({ status: 'done_late', attempts: 1 });
  });

  it('a dissatisfied answer or a complaint is reported as a problem', async () => {
    const dissatisfied = await openCall();
    await expect(run(activities.recordOutcome, outcome(dissatisfied.followUpId, '2026-03-03 15:00', { reached: true, satisfied: false }))).resolves.toMatchObject({ problem: true });
    const complaint = await openCall();
    await expect(run(activities.recordOutcome, outcome(complaint.followUpId, '2026-03-03 15:00', { reached: true, satisfied: true, complaint: 'the paint is scratched' }))).resolves.toMatchObject({ problem: true });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: complaint.followUpId } })).toMatchObject({ complaint: 'the paint is scratched' });
  });

  it('an unreached customer leaves the task open, with the next attempt when the customer\'s window next opens', async () => {
    const c = await openCall({ contactWindow: { start: '10:00', end: '18:00' } });
    const result = await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-03 17:00', { reached: false, note: 'no answer' }, { attemptNumber: 1 }));
    // 17:00 + 2 hours is after the customer's 18:00: the next try is at 10:00 the next morning.
    expect(result).toEqual({ status: 'open', attempts: 1, nextAttemptAt: shanghai('2026-03-04 10:00').toISOString(), problem: false });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: c.followUpId } })).toMatchObject({
      status: 'open', attempts: 1, reached: false, nextAttemptAt: shanghai('2026-03-04 10:00'), completedAt: null, note: 'no answer',
    });

    const second = await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-04 10:05', { reached: false }, { attemptNumber: 2 }));
    expect(second).toMatchObject({ status: 'open', attempts: 2, nextAttemptAt: shanghai('2026-03-04 12:05').toISOString() });
  });

  it('the last unreached attempt fails the task', async () => {
    const c = await openCall({}, 2);
    await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-03 10:00', { reached: false }, { attemptNumber: 1 }));
    const last = await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-03 12:00', { reached: false }, { attemptNumber: 2 }));
    expect(last).toEqual({ status: 'failed', attempts: 2, nextAttemptAt: null, problem: false });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: c.followUpId } })).toMatchObject({
      status: 'failed', attempts: 2, nextAttemptAt: null, completedAt: shanghai('2026-03-03 12:00'),
    });
  });

  it('corrected contact data updates the customer (I-2), with the phone number normalised', async () => {
    const c = await openCall();
    await run(activities.recordOutcome, outcome(c.followUpId, '2026-03-03 15:00', {
      reached: true, satisfied: true, contactDataCorrect: false, correctedContact: { phone: '139 1234 5678', email: 'new@example.com' },
    }));
    expect(await db.customer.findUniqueOrThrow({ where: { id: c.customerId } })).toMatchObject({ phone: '+8613912345678', email: 'new@example.com' });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: c.followUpId } })).toMatchObject({ contactDataCorrect: false });
  });

  it('a retried recordOutcome returns the same answer and records the call once', async () => {
    const reached = await openCall();
    const input = outcome(reached.followUpId, '2026-03-03 15:00', { reached: true, satisfied: false }, { attemptNumber: 1 });
    const first = await run(activities.recordOutcome, input);
    await expect(retry(activities.recordOutcome, input)).resolves.toEqual(first);
    expect(await db.followUp.findUniqueOrThrow({ where: { id: reached.followUpId } })).toMatchObject({ attempts: 1, status: 'done_on_time' });

    const unreached = await openCall();
    const noAnswer = outcome(unreached.followUpId, '2026-03-03 15:00', { reached: false }, { attemptNumber: 1 });
    const once = await run(activities.recordOutcome, noAnswer);
    await expect(retry(activities.recordOutcome, noAnswer)).resolves.toEqual(once);
    expect(await db.followUp.findUniqueOrThrow({ where: { id: unreached.followUpId } })).toMatchObject({ attempts: 1, status: 'open' });
  });

  it('refuses an outcome for a task that was closed meanwhile, with or without earlier attempts', async () => {
    const missed = await openCall();
    await run(activities.closeFollowUp, { followUpId: missed.followUpId, status: 'missed' });
    const failure = await failureOf(run(activities.recordOutcome, outcome(missed.followUpId, '2026-03-05 21:00', { reached: true, satisfied: true }, { attemptNumber: 1 })));
    expect(failure).toMatchObject({ type: 'TaskAlreadyClosed', nonRetryable: true });

    const triedThenMissed = await openCall();
    await run(activities.recordOutcome, outcome(triedThenMissed.followUpId, '2026-03-03 10:00', { reached: false }, { attemptNumber: 1 }));
    await run(activities.closeFollowUp, { followUpId: triedThenMissed.followUpId, status: 'missed' });
    const late = await failureOf(run(activities.recordOutcome, outcome(triedThenMissed.followUpId, '2026-03-05 21:00', { reached: true, satisfied: true }, { attemptNumber: 2 })));
    expect(late).toMatchObject({ type: 'TaskAlreadyClosed', nonRetryable: true });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: triedThenMissed.followUpId } })).toMatchObject({ status: 'missed', attempts: 1, reached: false });
  });

  it('fails for good when the task is unknown', async () => {
    const failure = await failureOf(run(activities.recordOutcome, outcome('00000000-0000-4000-8000-000000000000', '2026-03-03 15:00', { reached: true, satisfied: true })));
    expect(failure).toMatchObject({ type: 'RecordNotFound', nonRetryable: true });
  });
});

describe('closeFollowUp', () => {
  it('closes an open task as missed, and closing it again changes nothing', async () => {
    const s = await seedDelivery();
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId));
    await expect(run(activities.closeFollowUp, { followUpId, status: 'missed' })).resolves.toBe('missed');
    await expect(retry(activities.closeFollowUp, { followUpId, status: 'missed' })).resolves.toBe('missed');
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ status: 'missed' });
  });

  it('never overwrites a task that was completed meanwhile', async () => {
    const s = await seedDelivery();
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId));
    await run(activities.recordOutcome, outcome(followUpId, '2026-03-03 15:00', { reached: true, satisfied: true }));
    await expect(run(activities.closeFollowUp, { followUpId, status: 'missed' })).resolves.toBe('done_on_time');
    await expect(run(activities.closeFollowUp, { followUpId, status: 'cancelled' })).resolves.toBe('done_on_time');
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ status: 'done_on_time', satisfied: true });
  });
});

describe('rescheduleFollowUp and markMandatory', () => {
  it('a call-back request records the requested time and when to call (inside the customer\'s window), never moving the required window', async () => {
    const s = await seedDelivery({ contactWindow: { start: '10:00', end: '18:00' } });
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId));
    const moved = await run(activities.rescheduleFollowUp, { followUpId, requestedAt: shanghai('2026-03-03 19:30').toISOString() });
    expect(moved).toEqual({ requestedAt: shanghai('2026-03-03 19:30').toISOString(), nextAttemptAt: shanghai('2026-03-04 10:00').toISOString() });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({
      dueStart: shanghai('2026-03-03 09:00'), dueEnd: shanghai('2026-03-03 20:00'), requestedAt: shanghai('2026-03-03 19:30'), nextAttemptAt: shanghai('2026-03-04 10:00'),
    });
  });

  it('marks a task mandatory, idempotently', async () => {
    const s = await seedDelivery();
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'manager-call-day-8-10', role: 'consultant' }));
    await run(activities.markMandatory, { followUpId });
    await retry(activities.markMandatory, { followUpId });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ mandatory: true });
  });
});

describe('openEscalationCase', () => {
  it('opens one case per task and reason, for the store\'s least-loaded CR specialist, and answers a repeat with the same case', async () => {
    const s = await seedDelivery({ staff: [{ key: 'cr-a', role: 'cr_specialist' }, { key: 'cr-b', role: 'cr_specialist' }, { key: 'supervisor', role: 'supervisor' }] });
    await giveWork(s.storeId, s.deliveryId, s.staff['cr-a'], 1);
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'cr-satisfaction-call-day-7', role: 'cr_specialist', survey: true }));
    // The survey task itself went to cr-b, the less loaded: now both have one open task, and cr-a was first.
    const input = { deliveryId: s.deliveryId, followUpId, reason: 'dissatisfied' as const };
    const opened = await run(activities.openEscalationCase, input);
    expect(opened).toEqual({ caseId: expect.any(String), assigneeId: s.staff['cr-a'] });

    // Loads change before a retry: the repeat still names the case's own assignee.
    await giveWork(s.storeId, s.deliveryId, s.staff['cr-a'], 3);
    await expect(retry(activities.openEscalationCase, input)).resolves.toEqual(opened);

    const complaint = await run(activities.openEscalationCase, { deliveryId: s.deliveryId, followUpId, reason: 'complaint', detail: 'the paint is scratched' });
    expect(complaint.caseId).not.toBe(opened.caseId);
    const cases = await db.escalationCase.findMany({ where: { followUpId }, orderBy: { createdAt: 'asc' } });
    expect(cases.map((c) => [c.reason, c.status, c.assigneeId, c.storeId, c.deliveryId])).toEqual([
      ['dissatisfied', 'open', s.staff['cr-a'], s.storeId, s.deliveryId],
      ['complaint', 'open', s.staff['cr-b'], s.storeId, s.deliveryId],
    ]);
    expect(cases[1].detail).toBe('the paint is scratched');
  });
});

describe('answers and the end of an ownership', () => {
  it('records who made the call and that the answer came by phone', async () => {
    const s = await seedDelivery();
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId));
    await run(activities.recordOutcome, outcome(followUpId, '2026-03-03 15:00', { reached: true, satisfied: true }, { completedById: s.staff.consultant }));
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ completedById: s.staff.consultant, answerChannel: 'phone' });
  });

  it('a survey score sent by SMS is written on the survey once, with its channel; 1-2 is a problem', async () => {
    const s = await seedDelivery();
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId, { stepKey: 'cr-satisfaction-call-day-7', role: 'consultant', survey: true }));
    await expect(run(activities.recordSurveyScore, { followUpId, csat: 2, channel: 'sms' })).resolves.toEqual({ problem: true });
    await expect(retry(activities.recordSurveyScore, { followUpId, csat: 2, channel: 'sms' })).resolves.toEqual({ problem: true });
    // A later score does not overwrite the first.
    await run(activities.recordSurveyScore, { followUpId, csat: 5, channel: 'sms' });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ csat: 2, answerChannel: 'sms', status: 'open' });

    const { followUpId: notSurvey } = await run(activities.openFollowUp, callInput(s.deliveryId));
    expect(await failureOf(run(activities.recordSurveyScore, { followUpId: notSurvey, csat: 1, channel: 'sms' }))).toMatchObject({ type: 'RecordNotFound', nonRetryable: true });
  });

  it('a call whose required window had closed before the delivery reached the system is recorded late', async () => {
    const s = await seedDelivery();
    // The delivery row was written now; these windows are in March 2026.
    const { followUpId } = await run(activities.openFollowUp, callInput(s.deliveryId));
    expect(await db.followUp.findUniqueOrThrow({ where: { id: followUpId } })).toMatchObject({ recordedLate: true });
    const future = await run(activities.openFollowUp, callInput(s.deliveryId, {
      stepKey: 'manager-call-day-8-10', dueStart: new Date(Date.now() + 86_400_000).toISOString(), dueEnd: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    }));
    expect(await db.followUp.findUniqueOrThrow({ where: { id: future.followUpId } })).toMatchObject({ recordedLate: false });
  });

  it('a customer\'s written reply opens one case for it, however often asked', async () => {
    const s = await seedDelivery({ staff: [{ key: 'cr', role: 'cr_specialist' }] });
    const inbound = await db.inboundMessage.create({
      data: { storeId: s.storeId, customerId: s.customerId, channel: 'sms', providerId: 'SM-reply-1', fromAddress: '+8613800000001', toAddress: '+15005550006', body: '有人吗', kind: 'free-text' },
    });
    const input = { deliveryId: s.deliveryId, inboundMessageId: inbound.id, reason: 'customer-reply' as const, detail: 'the customer wrote back by sms' };
    const opened = await run(activities.openEscalationCase, input);
    await expect(retry(activities.openEscalationCase, input)).resolves.toEqual(opened);
    expect(await db.escalationCase.findMany({ where: { inboundMessageId: inbound.id } })).toEqual([
      expect.objectContaining({ reason: 'customer-reply', followUpId: null, assigneeId: s.staff.cr }),
    ]);
  });

  it('ends the delivery with its reason and date, once', async () => {
    const s = await seedDelivery();
    const endedAt = shanghai('2026-06-01 12:00').toISOString();
    await run(activities.endDelivery, { deliveryId: s.deliveryId, reason: 'sold', endedAt });
    await retry(activities.endDelivery, { deliveryId: s.deliveryId, reason: 'scrapped', endedAt: new Date().toISOString() });
    expect(await db.delivery.findUniqueOrThrow({ where: { id: s.deliveryId } })).toMatchObject({ status: 'ended', endedReason: 'sold', endedAt: new Date(endedAt) });
  });
});
