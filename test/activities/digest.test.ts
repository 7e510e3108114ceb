import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createDigestActivities } from '../../src/activities/digest';
import type { Db } from '../../src/db/client';
import { digestDay } from '../../src/domain/digest';
import { PermanentSendError, type OutboundMessage, type Transport } from '../../src/messaging/transports';
import { createTestDatabase } from '../helpers/db';
import { seedCustomer, seedStore } from '../messaging/fixtures';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
const sent: OutboundMessage[] = [];
let refuse: string | null = null;
/** The mail transport as the activity sees it; `refuse` makes one address a permanent refusal. */
const email: Transport = {
  name: 'smtp',
  async send(message) {
    if (message.to === refuse) throw new PermanentSendError('SMTP refused the message (550)', 'rejected', '550');
    sent.push(message);
    return { providerId: `<${message.idempotencyKey}@huifang>` };
  },
};
let activities: ReturnType<typeof createDigestActivities>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  activities = createDigestActivities({ db, email, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await t?.drop();
});

beforeEach(() => {
  sent.length = 0;
  refuse = null;
});

const quiet = { logger: new DefaultLogger('ERROR') };
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment({}, quiet).run(fn, ...args);

const DAY = 86400_000;
/** 08:00 in Shanghai on 2026-03-12: "yesterday" is 2026-03-11 there. */
const MORNING = new Date('2026-03-12T00:00:00Z');
const YESTERDAY = digestDay(MORNING, 'Asia/Shanghai');

async function seed() {
  const { store, consultant, cr } = await seedStore(db);
  const storeId = store.id;
  const manager = await db.staff.create({ data: { storeId, externalId: 'm', name: '张经理', role: 'manager', email: 'manager@example.com' } });
  const gm = await db.staff.create({ data: { storeId, externalId: 'gm', name: '总经理', role: 'general_manager', email: 'gm@example.com' } });
  await db.staff.create({ data: { storeId, externalId: 'm-left', name: '离职经理', role: 'manager', email: 'left@example.com', active: false } });
  let n = 0;
  const call = async (data: { status: string; dueEnd: Date; completedAt?: Date; assigneeId?: string | null; satisfied?: boolean }) => {
    const { deliveryId } = await seedCustomer(db, storeId);
    return db.followUp.create({
      data: { storeId, deliveryId, stepKey: `call-${++n}`, kind: 'call', role: 'consultant', channel: 'phone', checklist: [], assigneeId: consultant.id, dueStart: new Date(data.dueEnd.getTime() - DAY), ...data },
    });
  };
  return { storeId, store, consultant, cr, manager, gm, call };
}

describe('the daily digest', () => {
  it('tells each active manager yesterday\'s missed and late calls, what is overdue now, open and overdue cases and how yesterday moved the KPIs', async () => {
    const s = await seed();
    const missed = await call(s, { status: 'missed', dueEnd: new Date(YESTERDAY.from.getTime() - 2 * DAY) });
    // The closing activity's audit row, as it was written yesterday morning.
    await db.auditLog.create({ data: { actorKind: 'system', action: 'task.missed', entity: 'task', entityId: missed.id, storeId: s.storeId, at: new Date(YESTERDAY.from.getTime() + 3600_000) } });
    const late = await call(s, { status: 'done_late', dueEnd: new Date(YESTERDAY.from.getTime() - DAY), completedAt: new Date(YESTERDAY.from.getTime() + 7200_000), satisfied: true });
    const overdue = await call(s, { status: 'open', dueEnd: new Date(MORNING.getTime() - 3600_000) });
    await call(s, { status: 'done_on_time', dueEnd: new Date(YESTERDAY.from.getTime() + 3600_000), completedAt: new Date(YESTERDAY.from.getTime()), satisfied: true });
    const { deliveryId } = await seedCustomer(db, s.storeId);
    const overdueCase = await db.escalationCase.create({ data: { storeId: s.storeId, deliveryId, reason: 'dissatisfied', assigneeId: s.cr.id, dueAt: new Date(MORNING.getTime() - DAY) } });
    await db.escalationCase.create({ data: { storeId: s.storeId, deliveryId, reason: 'complaint', assigneeId: s.cr.id, dueAt: new Date(MORNING.getTime() + DAY) } });
    const resolvedCase = await db.escalationCase.create({
      data: { storeId: s.storeId, deliveryId, reason: 'customer-reply', assigneeId: s.manager.id, level: 2, status: 'resolved', rootCause: 'delivery-process',
        createdAt: new Date(YESTERDAY.from.getTime() + 1800_000), resolvedAt: new Date(YESTERDAY.from.getTime() + 3600_000) },
    });

    const result = await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: MORNING.toISOString() });
    expect(result).toEqual({ day: '2026-03-11', recipients: 2, notices: { sent: 2 }, alerts: [] });
    expect(sent.map((m) => m.to).sort()).toEqual(['gm@example.com', 'manager@example.com']);
    const [mail] = sent;
    expect(mail.subject).toContain('2026-03-11');
    const body = mail.body;
    expect(body).toMatch(/Missed yesterday: 1\n.*task [0-9a-f-]+/);
    expect(body).toContain(`task ${missed.id}`);
    expect(body).toMatch(/Done late yesterday: 1/);
    expect(body).toContain(`task ${late.id}`);
    expect(body).toMatch(/Overdue now: 1/);
    expect(body).toContain(`task ${overdue.id}`);
    expect(body).toContain('Cases opened yesterday: 1');
    expect(body).toMatch(/Cases resolved yesterday: 1\n.*level 2 · 张经理 · 原因 root cause delivery-process/);
    expect(body).toContain(`case ${resolvedCase.id}`);
    expect(body).toContain('Open cases: 2');
    expect(body).toMatch(/Overdue cases: 1/);
    expect(body).toContain(`case ${overdueCase.id}`);
    expect(body).not.toContain('pre-screening');
    // Timeliness of the month: before yesterday a missed and a late call (0 of 2); with yesterday's window one on time of 3.
    expect(body).toContain('跟踪及时率 Follow-up timeliness: 0.0% -> 33.3% (+33.3)');
    // Staff names are the managers' business; customers' names and phones never appear.
    expect(body).not.toContain('王女士');
    expect(body).not.toMatch(/\+86|138\d{8}/);
  });

  it('tells how many replacement candidates wait for CR\'s pre-screening', async () => {
    const s = await seed();
    for (const status of ['pending', 'pending', 'no_intent']) {
      const { deliveryId } = await seedCustomer(db, s.storeId);
      await db.replacementCandidate.create({ data: { storeId: s.storeId, deliveryId, cycle: 'year-4', status, facts: {} } });
    }
    await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: MORNING.toISOString() });
    expect(sent[0].body).toContain('置换候选待初筛 Replacement candidates awaiting pre-screening: 2');
  });

  it('sends nothing twice when it runs again (a retry, a second run of the same morning)', async () => {
    const s = await seed();
    await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: MORNING.toISOString() });
    await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: new Date(MORNING.getTime() + 3600_000).toISOString() });
    expect(sent).toHaveLength(2);
    // The next morning is another digest.
    await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: new Date(MORNING.getTime() + DAY).toISOString() });
    expect(sent).toHaveLength(4);
  });

  it('skips a manager without an email address, records a refused address, and sends nothing for a paused store', async () => {
    const s = await seed();
    await db.staff.update({ where: { id: s.gm.id }, data: { email: null } });
    refuse = 'manager@example.com';
    expect(await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: MORNING.toISOString() })).toMatchObject({ notices: { skipped: 1, failed: 1 } });
    expect(await db.staffNotification.findMany({ where: { staffId: { in: [s.gm.id, s.manager.id] } }, select: { status: true }, orderBy: { status: 'asc' } }))
      .toEqual([{ status: 'failed' }, { status: 'skipped' }]);
    await db.store.update({ where: { id: s.storeId }, data: { paused: true } });
    expect(await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: new Date(MORNING.getTime() + DAY).toISOString() })).toBeNull();
    expect(sent).toEqual([]);
  });
});

describe('threshold alerts (seed 002)', () => {
  it('a KPI below the store\'s floor alerts the managers once a month, and the first reading is kept', async () => {
    const s = await seed();
    await db.kpiThreshold.create({ data: { storeId: s.storeId, kpi: 'timeliness', minimum: 90 } });
    await db.kpiThreshold.create({ data: { storeId: s.storeId, kpi: 'satisfaction', minimum: 50 } });
    await call(s, { status: 'done_late', dueEnd: new Date(YESTERDAY.from.getTime() + 3600_000), completedAt: YESTERDAY.to, satisfied: true });
    await call(s, { status: 'done_on_time', dueEnd: new Date(YESTERDAY.from.getTime() + 3600_000), completedAt: YESTERDAY.from, satisfied: true });
    const first = await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: MORNING.toISOString() });
    expect(first).toMatchObject({ alerts: ['timeliness'], notices: { sent: 4 } });
    const alert = sent.find((m) => m.subject?.includes('KPI alert'))!;
    expect(alert.subject).toContain('跟踪及时率 50.0% < 90.0%');
    // The next morning, still below: the digest, no second alert.
    sent.length = 0;
    const next = await run(activities.sendStoreDigest, { storeId: s.storeId, asOf: new Date(MORNING.getTime() + DAY).toISOString() });
    expect(next).toMatchObject({ alerts: ['timeliness'], notices: { sent: 2, already: 2 } });
    expect(sent.every((m) => !m.subject?.includes('KPI alert'))).toBe(true);
    expect(await db.thresholdAlert.findMany({ where: { storeId: s.storeId } })).toEqual([
      expect.objectContaining({ kpi: 'timeliness', period: '2026-03', value: 50, minimum: 90 }),
    ]);
  });
});

describe('reclaim (seed 001)', () => {
  async function neglected(days: number) {
    const s = await seed();
    const other = await db.staff.create({ data: { storeId: s.storeId, externalId: 'c-other', name: '陈晨', role: 'consultant' } });
    const busy = await db.staff.create({ data: { storeId: s.storeId, externalId: 'c-busy', name: '刘洋', role: 'consultant' } });
    // 刘洋 holds more open calls than 陈晨: the fair rule picks 陈晨.
    for (let i = 0; i < 2; i++) await call(s, { status: 'open', dueEnd: new Date(MORNING.getTime() + 5 * DAY), assigneeId: busy.id });
    const { deliveryId, customerId } = await seedCustomer(db, s.storeId);
    await db.delivery.update({ where: { id: deliveryId }, data: { consultantId: s.consultant.id } });
    const dueStart = new Date(MORNING.getTime() - days * DAY);
    const task = await db.followUp.create({
      data: { storeId: s.storeId, deliveryId, stepKey: 'replacement-call', kind: 'call', role: 'consultant', channel: 'phone', checklist: [], assigneeId: s.consultant.id, dueStart, dueEnd: new Date(dueStart.getTime() + 3 * DAY), status: 'missed' },
    });
    const open = await db.followUp.create({
      data: { storeId: s.storeId, deliveryId, stepKey: 'service-call', kind: 'call', role: 'consultant', channel: 'phone', checklist: [], assigneeId: s.consultant.id, dueStart: MORNING, dueEnd: new Date(MORNING.getTime() + DAY) },
    });
    return { ...s, other, busy, deliveryId, customerId, task, open };
  }

  it('a customer nobody called for 30 days while a call was due goes to the least-loaded other consultant, with their open calls; the audit says why; a repeat does nothing', async () => {
    const s = await neglected(31);
    expect(await run(activities.reclaimStoreCustomers, { storeId: s.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 1 });
    expect(await db.delivery.findUniqueOrThrow({ where: { id: s.deliveryId } })).toMatchObject({ consultantId: s.consultant.id, ownerId: s.other.id, reclaimedAt: MORNING });
    expect(await db.followUp.findUniqueOrThrow({ where: { id: s.open.id } })).toMatchObject({ assigneeId: s.other.id });
    // The missed call stays where it was missed: the record of who did not call.
    expect(await db.followUp.findUniqueOrThrow({ where: { id: s.task.id } })).toMatchObject({ assigneeId: s.consultant.id });
    const [entry] = await db.auditLog.findMany({ where: { action: 'customer.reclaim', entityId: s.customerId } });
    expect(entry).toMatchObject({ actorKind: 'system', before: { consultantId: s.consultant.id }, after: { consultantId: s.other.id } });
    expect(entry.reason).toBe(`no contact for 30 days while a call was due: task ${s.task.id} (replacement-call) due since ${s.task.dueStart.toISOString()}`);
    expect(await run(activities.reclaimStoreCustomers, { storeId: s.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 0 });
    // The new consultant's clock starts at the reclaim: 29 days later they are not yet due for one.
    expect(await run(activities.reclaimStoreCustomers, { storeId: s.storeId, asOf: new Date(MORNING.getTime() + 29 * DAY).toISOString() })).toEqual({ reclaimed: 0 });
  });

  it('two runs at once (a retry beside the scheduled run) reclaim each customer once', async () => {
    const s = await neglected(31);
    // Four more of the consultant's customers in the same state: the runs overlap on them.
    for (let i = 0; i < 4; i++) {
      const { deliveryId } = await seedCustomer(db, s.storeId);
      await db.delivery.update({ where: { id: deliveryId }, data: { consultantId: s.consultant.id } });
      await db.followUp.create({
        data: { storeId: s.storeId, deliveryId, stepKey: 'replacement-call', kind: 'call', role: 'consultant', channel: 'phone', checklist: [], assigneeId: s.consultant.id,
          dueStart: s.task.dueStart, dueEnd: s.task.dueEnd, status: 'missed' },
      });
    }
    const runs = await Promise.all([1, 2].map(() => run(activities.reclaimStoreCustomers, { storeId: s.storeId, asOf: MORNING.toISOString() })));
    expect(runs[0].reclaimed + runs[1].reclaimed).toBe(5);
    expect(await db.auditLog.count({ where: { action: 'customer.reclaim', storeId: s.storeId } })).toBe(5);
  });

  it('keeps the customer when the consultant called since the call fell due, when it is not yet 30 days (the store\'s setting), or when nobody else could take them', async () => {
    const called = await neglected(31);
    const { id } = await db.followUp.create({
      data: { storeId: called.storeId, deliveryId: called.deliveryId, stepKey: 'follow-up', kind: 'call', role: 'consultant', channel: 'phone', checklist: [], assigneeId: called.consultant.id,
        dueStart: new Date(MORNING.getTime() - 10 * DAY), dueEnd: new Date(MORNING.getTime() - 9 * DAY), status: 'done_on_time', completedAt: new Date(MORNING.getTime() - 9 * DAY), completedById: called.consultant.id },
    });
    expect(id).toBeTruthy();
    expect(await run(activities.reclaimStoreCustomers, { storeId: called.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 0 });

    const recent = await neglected(20);
    expect(await run(activities.reclaimStoreCustomers, { storeId: recent.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 0 });
    await db.store.update({ where: { id: recent.storeId }, data: { reclaimAfterDays: 14 } });
    expect(await run(activities.reclaimStoreCustomers, { storeId: recent.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 1 });

    const alone = await neglected(31);
    await db.staff.updateMany({ where: { id: { in: [alone.other.id, alone.busy.id] } }, data: { active: false } });
    expect(await run(activities.reclaimStoreCustomers, { storeId: alone.storeId, asOf: MORNING.toISOString() })).toEqual({ reclaimed: 0 });
  });
});

/** A call task of the seeded store, held by its consultant unless said otherwise. */
function call(s: Awaited<ReturnType<typeof seed>>, data: Parameters<Awaited<ReturnType<typeof seed>>['call']>[0]) {
  return s.call(data);
}
