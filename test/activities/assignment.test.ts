import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createFollowUpActivities, OpenFollowUpInput } from '../../src/activities/follow-ups';
import type { Db } from '../../src/db/client';
import { openDataFixCase } from '../../src/messaging/records';
import { createTestDatabase } from '../helpers/db';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let activities: ReturnType<typeof createFollowUpActivities>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  activities = createFollowUpActivities({ db, logger: pino({ level: 'silent' }), ...recordingCaseWorkflows() });
});

afterAll(async () => {
  await t?.drop();
});

const quiet = { logger: new DefaultLogger('ERROR') };
function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({}, quiet).run(fn, ...args);
}

let stores = 0;

/** A store with a consultant and the given staff (created in this order: ties go to the first). */
async function seedStore(members: { key: string; role: string; active?: boolean }[]) {
  const storeId = `assign-${++stores}`;
  await db.store.create({ data: { id: storeId, name: `Store ${stores}`, timeZone: 'Asia/Shanghai' } });
  const staff: Record<string, string> = {};
  for (const [i, m] of [{ key: 'consultant', role: 'consultant' }, ...members].entries()) {
    const row = await db.staff.create({
      data: { storeId, externalId: m.key, name: `Staff ${m.key}`, role: m.role, active: m.active ?? true, createdAt: new Date(Date.UTC(2026, 0, 1 + i)) },
    });
    staff[m.key] = row.id;
  }
  const customer = await db.customer.create({ data: { storeId, externalId: 'c-1', name: 'Customer', phone: '+8613800000001' } });
  let vins = 0;
  /** A delivery sold by `consultant` (default: the store's consultant). */
  const delivery = async (consultant = 'consultant') => {
    const vehicle = await db.vehicle.create({ data: { storeId, vin: `LSVAB4182E2${String(++vins).padStart(6, '0')}`, model: 'Test' } });
    const d = await db.delivery.create({
      data: { storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: staff[consultant], deliveredAt: new Date('2026-03-01T02:00:00Z'), workflowId: `wf-${storeId}-${vins}` },
    });
    return d.id;
  };
  return { storeId, staff, customerId: customer.id, delivery };
}

function supervisorCall(deliveryId: string): OpenFollowUpInput {
  return {
    deliveryId, stepKey: 'supervisor-call-day-4-6', role: 'supervisor', checklist: ['确认销售顾问的承诺已兑现'], survey: false, mandatory: false,
    maxAttempts: 3, dueStart: '2026-03-05T01:00:00Z', dueEnd: '2026-03-07T12:00:00Z',
  };
}

function surveyCall(deliveryId: string): OpenFollowUpInput {
  return { ...supervisorCall(deliveryId), stepKey: 'cr-satisfaction-call-day-7', role: 'cr_specialist', survey: true };
}

/** How many of `assigneeIds` each staff member got, by key. */
function tally(staff: Record<string, string>, assigneeIds: (string | null)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of assigneeIds) {
    const key = Object.keys(staff).find((k) => staff[k] === id) ?? 'nobody';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('fair assignment', () => {
  it('10 simultaneous tasks spread evenly over two supervisors (5/5)', async () => {
    const s = await seedStore([{ key: 'sup-a', role: 'supervisor' }, { key: 'sup-b', role: 'supervisor' }]);
    const deliveries = await Promise.all(Array.from({ length: 10 }, () => s.delivery()));
    const opened = await Promise.all(deliveries.map((d) => run(activities.openFollowUp, supervisorCall(d))));
    expect(tally(s.staff, opened.map((o) => o.assigneeId))).toEqual({ 'sup-a': 5, 'sup-b': 5 });
    // What the activity answered is what it wrote.
    const rows = await db.followUp.findMany({ where: { storeId: s.storeId } });
    expect(tally(s.staff, rows.map((r) => r.assigneeId))).toEqual({ 'sup-a': 5, 'sup-b': 5 });
  });

  it('the day 4-6 call goes to the consultant\'s supervisor, however busy', async () => {
    const s = await seedStore([{ key: 'idle', role: 'supervisor' }, { key: 'team-lead', role: 'supervisor' }]);
    await db.staff.update({ where: { id: s.staff.consultant }, data: { supervisorId: s.staff['team-lead'] } });
    const first = await run(activities.openFollowUp, supervisorCall(await s.delivery()));
    const second = await run(activities.openFollowUp, supervisorCall(await s.delivery()));
    expect([first.assigneeId, second.assigneeId]).toEqual([s.staff['team-lead'], s.staff['team-lead']]);
  });

  it('a deactivated team supervisor falls back to the fair rule', async () => {
    const s = await seedStore([{ key: 'sup-a', role: 'supervisor' }, { key: 'sup-b', role: 'supervisor' }, { key: 'team-lead', role: 'supervisor' }]);
    await db.staff.update({ where: { id: s.staff.consultant }, data: { supervisorId: s.staff['team-lead'] } });
    const opened = [await run(activities.openFollowUp, supervisorCall(await s.delivery()))];
    await db.staff.update({ where: { id: s.staff['team-lead'] }, data: { active: false } });
    for (let i = 0; i < 2; i++) opened.push(await run(activities.openFollowUp, supervisorCall(await s.delivery())));
    expect(opened.map((o) => tally(s.staff, [o.assigneeId]))).toEqual([{ 'team-lead': 1 }, { 'sup-a': 1 }, { 'sup-b': 1 }]);
  });

  it('CR specialist cases spread too: 10 simultaneous cases, 5/5', async () => {
    const s = await seedStore([{ key: 'cr-a', role: 'cr_specialist' }, { key: 'cr-b', role: 'cr_specialist' }]);
    // The survey calls themselves, written one by one: 3 and 3.
    const surveys: { deliveryId: string; followUpId: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const deliveryId = await s.delivery();
      surveys.push({ deliveryId, ...(await run(activities.openFollowUp, surveyCall(deliveryId))) });
    }
    const cases = await Promise.all(surveys.flatMap((fu) => (['dissatisfied', 'complaint'] as const).map((reason) => (
      run(activities.openEscalationCase, { deliveryId: fu.deliveryId, followUpId: fu.followUpId, reason })
    ))).slice(0, 10));
    expect(tally(s.staff, cases.map((c) => c.assigneeId))).toEqual({ 'cr-a': 5, 'cr-b': 5 });
  });

  it('one rule picks the CR specialist everywhere: data-fix and escalation cases count open calls and cases alike', async () => {
    const s = await seedStore([{ key: 'cr-a', role: 'cr_specialist' }, { key: 'cr-b', role: 'cr_specialist' }]);
    const deliveryId = await s.delivery();
    const survey = await run(activities.openFollowUp, surveyCall(deliveryId));
    expect(survey.assigneeId).toBe(s.staff['cr-a']);

    // cr-a has the open survey call: the data-fix case goes to cr-b.
    const message = await db.message.create({
      data: {
        storeId: s.storeId, customerId: s.customerId, deliveryId, idempotencyKey: `fix-${s.storeId}`, channel: 'sms', purpose: 'service',
        templateKey: 'delivery-care-2h', locale: 'zh-CN', transport: 'twilio', toAddress: '+8613800000001', body: 'care', status: 'failed',
      },
    });
    const fix = await db.$transaction((tx) => openDataFixCase(tx, message.id, 'sms failed: unreachable'));
    expect(fix?.assigneeId).toBe(s.staff['cr-b']);

    // One open task each: the escalation case goes to the longest-serving, cr-a.
    const escalated = await run(activities.openEscalationCase, { deliveryId, followUpId: survey.followUpId, reason: 'complaint' });
    expect(escalated.assigneeId).toBe(s.staff['cr-a']);
  });
});
