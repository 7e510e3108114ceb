import { randomUUID } from 'node:crypto';
import { WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import pino from 'pino';
import { createCaseActivities } from '../../src/activities/cases';
import type { Db } from '../../src/db/client';
import { REOPEN_PERIOD_MS } from '../../src/domain/cases';
import type { OutboundMessage, Transport } from '../../src/messaging/transports';
import { withAssignment } from '../../src/services/assignment';
import { startCaseWorkflow, startMissingCaseWorkflows, writeCaseRow } from '../../src/services/cases';
import {
  acknowledgeCaseUpdate,
  addCaseNoteUpdate,
  CaseActor,
  caseStateQuery,
  caseWorkflowId,
  reassignCaseUpdate,
  reopenCaseUpdate,
  resolveCaseUpdate,
} from '../../src/workflows/contract';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, type TestWorker, timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal';
import { recordHistory } from './histories';

/**
 * The escalation ladder on the time-skipping server, with the real case activities on a database
 * of its own: deadlines from the store's working calendar, climbing CR specialist -> sales manager
 * -> general manager, each new owner told once, and the desk's actions as updates.
 */
jest.setTimeout(120_000);

const TZ = 'Asia/Shanghai';
const HOUR = 3600_000;
const ALWAYS = 'cases-always';
const OFFICE = 'cases-office';
const DESK: CaseActor = { kind: 'api-key', id: 'desk-key' };

let env: TestWorkflowEnvironment;
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let worker: TestWorker;
let running: Promise<void>;
let taskQueue: string;
const sent: { channel: 'email' | 'sms'; message: OutboundMessage }[] = [];
const staff: Record<string, Record<'cr' | 'manager' | 'gm' | 'other', string>> = {};
const deliveries: Record<string, string> = {};

/** While true, the mail server refuses every connection (a retryable failure). */
let mailDown = false;

function recorder(channel: 'email' | 'sms'): Transport {
  return {
    name: 'outbox',
    send: async (message) => {
      if (mailDown && channel === 'email') throw new Error('connect ECONNREFUSED 127.0.0.1:25');
      sent.push({ channel, message });
      return { providerId: `${channel}-${sent.length}` };
    },
  };
}

async function seedStore(id: string, openingHours: unknown, calendars: { year: number; holidays: unknown[]; workdays: unknown[] }[]) {
  await db.store.create({ data: { id, name: `案件测试 ${id}`, timeZone: TZ, serviceHotline: '400-800-8888' } });
  const person = async (role: string, n: number) =>
    (await db.staff.create({ data: { storeId: id, externalId: `${role}-${n}`, name: `员工 ${n}`, role, email: `s${n}@${id}.example`, phone: `+861380000${String(n).padStart(4, '0')}` } })).id;
  staff[id] = { cr: await person('cr_specialist', 1), manager: await person('manager', 2), gm: await person('general_manager', 3), other: await person('consultant', 4) };
  await db.casePolicy.create({ data: { storeId: id, openingHours: openingHours as object, updatedBy: 'test' } });
  for (const c of calendars) await db.storeCalendar.create({ data: { storeId: id, ...c, holidays: c.holidays as object[], workdays: c.workdays as object[], updatedBy: 'test' } });
  const customer = await db.customer.create({ data: { storeId: id, externalId: 'C-1', name: '客户', phone: '+8613700000000' } });
  const vehicle = await db.vehicle.create({ data: { storeId: id, vin: 'LSVAU2180N2700001', model: '途观L' } });
  const delivery = await db.delivery.create({
    data: { storeId: id, vehicleId: vehicle.id, customerId: customer.id, consultantId: staff[id].other, deliveredAt: new Date(), workflowId: `vehicle-${id}` },
  });
  deliveries[id] = delivery.id;
}

beforeAll(async () => {
  [env, t] = await Promise.all([timeSkippingEnv(), createTestDatabase(), workflowBundle()]);
  db = t.db;
  const now = DateTime.fromMillis(await env.currentTimeMs(), { zone: TZ });
  const years = [now.year, now.year + 1, now.year + 2].map((year) => ({ year, holidays: [], workdays: [] }));
  await seedStore(ALWAYS, Array(7).fill({ start: '00:00', end: '24:00' }), years);
  await seedStore(OFFICE, [...Array(5).fill({ start: '09:00', end: '18:00' }), null, null], years);
  taskQueue = uniqueTaskQueue('cases');
  const activities = createCaseActivities({ db, logger: pino({ level: 'silent' }), sms: recorder('sms'), email: recorder('email'), publicBaseUrl: 'http://127.0.0.1:3000' });
  ({ worker } = await createTestWorker(env, activities, taskQueue));
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await t?.drop();
});

const now = async () => new Date(await env.currentTimeMs());
const skip = (ms: number) => env.sleep(ms);

/** Opens a case for the store, as the service does, at the test server's current time. */
async function openCase(storeId: string): Promise<{ caseId: string; handle: WorkflowHandle }> {
  const opened = (await withAssignment(db, (tx) => writeCaseRow(tx, { reason: 'manual', deliveryId: deliveries[storeId], detail: '客户投诉：交车时漆面划痕', openedBy: 'api-key:desk-key' })))!;
  // The database stamps the wall clock; the case opens at the skipped clock of the test server.
  await db.escalationCase.update({ where: { id: opened.caseId }, data: { createdAt: await now() } });
  await startCaseWorkflow({ temporal: env.client, taskQueue }, opened);
  return { caseId: opened.caseId, handle: env.client.workflow.getHandle(caseWorkflowId(opened.caseId)) };
}

/** Waits for the workflow to have caught up with the skipped clock (its activities run in real time). */
async function settled(caseId: string, check: (r: CaseRow) => boolean): Promise<CaseRow> {
  // Up to 30 s: a busy machine runs the activities slowly.
  for (let i = 0; i < 600; i++) {
    const r = await row(caseId);
    if (check(r)) return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`case ${caseId} did not settle: ${JSON.stringify(await row(caseId))}`);
}

const row = (caseId: string) => db.escalationCase.findUniqueOrThrow({ where: { id: caseId }, include: { events: { orderBy: { eventKey: 'asc' } } } });
type CaseRow = Awaited<ReturnType<typeof row>>;
const kinds = async (caseId: string) => (await row(caseId)).events.map((e) => e.kind);
const mailTo = (staffId: string) => sent.filter((s) => s.message.customerId === staffId);
const resolution = async () => ({
  actor: DESK, rootCause: 'delivery-process' as const, resolution: '补漆并致歉，客户满意', confirmation: { channel: 'phone' as const, at: (await now()).toISOString() },
});

async function updateError(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
    throw err;
  }
}

describe('the escalation ladder', () => {
  it('a case answered and resolved in time stays with the CR specialist', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    const opened = await settled(caseId, (r) => r.respondBy !== null && r.events.length === 1);
    expect(opened.respondBy!.getTime() - opened.createdAt.getTime()).toBe(4 * HOUR);
    expect(opened.resolveBy!.getTime() - opened.createdAt.getTime()).toBe(24 * HOUR);
    expect(opened).toMatchObject({ level: 1, assigneeId: staff[ALWAYS].cr, status: 'open', dueAt: opened.respondBy });

    await skip(1 * HOUR);
    const acknowledged = await handle.executeUpdate(acknowledgeCaseUpdate, { args: [{ actor: DESK, note: '已致电客户' }] });
    expect(acknowledged.acknowledgedAt).not.toBeNull();
    expect((await row(caseId)).dueAt).toEqual(opened.resolveBy);
    await skip(5 * HOUR);
    await handle.executeUpdate(resolveCaseUpdate, { args: [await resolution()] });
    await skip(30 * HOUR);

    const done = await row(caseId);
    expect(done).toMatchObject({ level: 1, status: 'resolved', rootCause: 'delivery-process', confirmedVia: 'phone', dueAt: null, assigneeId: staff[ALWAYS].cr });
    expect(done.events.map((e) => [e.kind, e.actor])).toEqual([['opened', 'api-key:desk-key'], ['acknowledged', 'api-key:desk-key'], ['resolved', 'api-key:desk-key']]);
    expect(mailTo(staff[ALWAYS].manager)).toEqual([]);
    await recordHistory(handle, 'answered-in-time');
  });

  it('a missed first response climbs to the sales manager, who is told by email once', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    const before = mailTo(staff[ALWAYS].manager).length;
    await skip(4 * HOUR - 60_000);
    expect((await handle.query(caseStateQuery)).level).toBe(1);
    await skip(2 * 60_000);
    const climbed = await settled(caseId, (r) => r.level === 2);
    expect(climbed.assigneeId).toBe(staff[ALWAYS].manager);
    const escalated = climbed.events.find((e) => e.kind === 'escalated')!;
    expect(escalated).toMatchObject({ actor: 'system', fromAssigneeId: staff[ALWAYS].cr, toAssigneeId: staff[ALWAYS].manager, level: 2 });
    await settled(caseId, () => mailTo(staff[ALWAYS].manager).length > before);
    expect(mailTo(staff[ALWAYS].manager).slice(before).map((s) => s.channel)).toEqual(['email']);

    // The manager answers and resolves in time: no second climb.
    await handle.executeUpdate(acknowledgeCaseUpdate, { args: [{ actor: { kind: 'staff', id: staff[ALWAYS].manager } }] });
    await handle.executeUpdate(resolveCaseUpdate, { args: [await resolution()] });
    await skip(30 * HOUR);
    expect(await row(caseId)).toMatchObject({ level: 2, status: 'resolved' });
    expect(await kinds(caseId)).toEqual(['opened', 'escalated', 'acknowledged', 'resolved']);
    await recordHistory(handle, 'first-deadline-missed');
  });

  it('both deadlines missed: the general manager owns it and gets an SMS too', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    await skip(5 * HOUR);
    await settled(caseId, (r) => r.level === 2);
    await skip(20 * HOUR);
    const top = await settled(caseId, (r) => r.level === 3);
    expect(top.assigneeId).toBe(staff[ALWAYS].gm);
    await settled(caseId, () => mailTo(staff[ALWAYS].gm).length >= 2);
    expect(mailTo(staff[ALWAYS].gm).map((s) => s.channel).sort()).toEqual(['email', 'sms']);
    expect(await kinds(caseId)).toEqual(['opened', 'escalated', 'escalated']);
    expect(await db.staffNotification.count({ where: { caseId } })).toBe(4); // CR specialist, manager, general manager (email and SMS)

    // Past both deadlines it stays overdue on the desk's lists until resolved.
    expect((await row(caseId)).dueAt!.getTime()).toBeLessThan((await now()).getTime());
    await handle.executeUpdate(addCaseNoteUpdate, { args: [{ actor: DESK, note: '总经理已约客户面谈' }] });
    expect(await kinds(caseId)).toEqual(['opened', 'escalated', 'escalated', 'note']);
    await recordHistory(handle, 'both-deadlines-missed');
  });

  it('a resolved case reopened gets fresh deadlines and climbs from where it was; unreopened it closes for good', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    await handle.executeUpdate(acknowledgeCaseUpdate, { args: [{ actor: DESK }] });
    expect(await updateError(handle.executeUpdate(acknowledgeCaseUpdate, { args: [{ actor: DESK }] }))).toBe('CaseAcknowledged');
    expect(await updateError(handle.executeUpdate(reopenCaseUpdate, { args: [{ actor: DESK, reason: 'x' }] }))).toBe('CaseNotResolved');
    await handle.executeUpdate(resolveCaseUpdate, { args: [await resolution()] });
    expect(await updateError(handle.executeUpdate(resolveCaseUpdate, { args: [await resolution()] }))).toBe('CaseResolved');
    expect(await updateError(handle.executeUpdate(reassignCaseUpdate, { args: [{ actor: DESK, assigneeId: staff[ALWAYS].other }] }))).toBe('CaseResolved');

    await skip(48 * HOUR);
    const reopenedAt = await now();
    const reopened = await handle.executeUpdate(reopenCaseUpdate, { args: [{ actor: { kind: 'staff', id: staff[ALWAYS].cr }, reason: '客户来电：漆面又起泡' }] });
    expect(reopened).toMatchObject({ status: 'open', level: 1, acknowledgedAt: null, resolvedAt: null });
    expect(Date.parse(reopened.respondBy) - reopenedAt.getTime()).toBeGreaterThanOrEqual(4 * HOUR);
    expect(await row(caseId)).toMatchObject({ status: 'open', rootCause: null, dueAt: new Date(reopened.respondBy) });
    await skip(4 * HOUR + 60_000);
    await settled(caseId, (r) => r.level === 2);
    await handle.executeUpdate(resolveCaseUpdate, { args: [await resolution()] });
    expect(await kinds(caseId)).toEqual(['opened', 'acknowledged', 'resolved', 'reopened', 'escalated', 'resolved']);

    await skip(REOPEN_PERIOD_MS + HOUR);
    await settled(caseId, (r) => r.status === 'closed');
    await recordHistory(handle, 'reopened-after-resolution');
    await expect(handle.executeUpdate(reopenCaseUpdate, { args: [{ actor: DESK, reason: 'again' }] })).rejects.toThrow();
  });

  it('a deadline counts over a night, a public holiday and a make-up working Saturday, and the weekend after', async () => {
    // Thursday 17:00 store time; Friday is a public holiday and Saturday a make-up working day (调休).
    const thursday = DateTime.fromMillis(await env.currentTimeMs(), { zone: TZ }).plus({ weeks: 1 }).set({ weekday: 4, hour: 17, minute: 0, second: 0, millisecond: 0 });
    const day = (n: number) => thursday.plus({ days: n }).toISODate()!;
    for (const [date, list] of [[day(1), 'holidays'], [day(2), 'workdays']] as const) {
      const year = Number(date.slice(0, 4));
      const cal = await db.storeCalendar.findUniqueOrThrow({ where: { storeId_year: { storeId: OFFICE, year } } });
      await db.storeCalendar.update({ where: { storeId_year: { storeId: OFFICE, year } }, data: { [list]: [...(cal[list] as object[]), { date, name: list === 'holidays' ? '店休' : '调休' }] } });
    }
    await skip(thursday.toMillis() - (await env.currentTimeMs()));
    const { caseId, handle } = await openCase(OFFICE);
    const opened = await settled(caseId, (r) => r.respondBy !== null);
    const local = (d: Date | null) => DateTime.fromJSDate(d!, { zone: TZ }).toFormat('ccc HH:mm');
    // 1 hour on Thursday, none on the holiday, 3 on the make-up Saturday.
    expect(local(opened.respondBy)).toBe('Sat 12:00');
    // 24 hours: 1 Thursday + 9 Saturday + 9 Monday (Sunday closed) + 5 Tuesday.
    expect(local(opened.resolveBy)).toBe('Tue 14:00');

    await skip(opened.respondBy!.getTime() - (await env.currentTimeMs()) - 60_000);
    expect((await handle.query(caseStateQuery)).level).toBe(1);
    await skip(2 * 60_000);
    await settled(caseId, (r) => r.level === 2);
    await skip(opened.resolveBy!.getTime() - (await env.currentTimeMs()) + 60_000);
    await settled(caseId, (r) => r.level === 3);
    await recordHistory(handle, 'working-calendar');
  });
});

describe('the desk\'s actions on one case', () => {
  it('two acknowledgements at once: one is recorded, the other refused; a retried update (same ID) records once', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    const results = await Promise.allSettled([0, 1].map(() => handle.executeUpdate(acknowledgeCaseUpdate, { args: [{ actor: DESK }] })));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const updateId = randomUUID();
    await handle.executeUpdate(addCaseNoteUpdate, { args: [{ actor: DESK, note: '第一次' }], updateId });
    await handle.executeUpdate(addCaseNoteUpdate, { args: [{ actor: DESK, note: '第一次' }], updateId });
    expect(await kinds(caseId)).toEqual(['opened', 'acknowledged', 'note']);
  });

  it('reassigns to an active colleague of the store, who is told; refuses anyone else without a trace', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    const stranger = staff[OFFICE].cr;
    await expect(handle.executeUpdate(reassignCaseUpdate, { args: [{ actor: DESK, assigneeId: stranger }] })).rejects.toThrow(WorkflowUpdateFailedError);
    expect(await updateError(handle.executeUpdate(reassignCaseUpdate, { args: [{ actor: DESK, assigneeId: staff[ALWAYS].cr }] }))).toBe('CaseAlreadyAssigned');
    const before = mailTo(staff[ALWAYS].other).length;
    const moved = await handle.executeUpdate(reassignCaseUpdate, { args: [{ actor: DESK, assigneeId: staff[ALWAYS].other, note: '休假交接' }] });
    expect(moved.assigneeId).toBe(staff[ALWAYS].other);
    const r = await row(caseId);
    expect(r.assigneeId).toBe(staff[ALWAYS].other);
    expect(r.events.at(-1)).toMatchObject({ kind: 'reassigned', fromAssigneeId: staff[ALWAYS].cr, toAssigneeId: staff[ALWAYS].other, detail: '休假交接' });
    await settled(caseId, () => mailTo(staff[ALWAYS].other).length === before + 1);
    const audit = await db.auditLog.findMany({ where: { entity: 'case', entityId: caseId }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['case.open', 'case.opened', 'case.reassigned']);
  });

  it('a case whose workflow was never started (Temporal was down after the row committed) is started by the repair round', async () => {
    const opened = (await withAssignment(db, (tx) => writeCaseRow(tx, { reason: 'manual', deliveryId: deliveries[ALWAYS], detail: '无人启动的案件', openedBy: 'system' })))!;
    await db.escalationCase.update({ where: { id: opened.caseId }, data: { createdAt: new Date(Date.now() - 5 * 60_000) } }); // the repair reads the wall clock
    expect(await startMissingCaseWorkflows({ db, temporal: env.client, taskQueue }, { graceMs: 60_000 })).toBe(1);
    await settled(opened.caseId, (r) => r.respondBy !== null);
    expect(await startMissingCaseWorkflows({ db, temporal: env.client, taskQueue }, { graceMs: 60_000 })).toBe(0);
  });

  it('a mail server that is down delays the new owner\'s email, never the desk\'s actions', async () => {
    const { caseId, handle } = await openCase(ALWAYS);
    await settled(caseId, (r) => r.respondBy !== null);
    mailDown = true;
    const before = mailTo(staff[ALWAYS].manager).length;
    await handle.executeUpdate(reassignCaseUpdate, { args: [{ actor: DESK, assigneeId: staff[ALWAYS].manager }] });
    await handle.executeUpdate(addCaseNoteUpdate, { args: [{ actor: DESK, note: '邮件服务器故障期间' }] });
    expect(await kinds(caseId)).toEqual(['opened', 'reassigned', 'note']);
    mailDown = false;
    await skip(5 * 60_000);
    await settled(caseId, () => mailTo(staff[ALWAYS].manager).length === before + 1);
  });
});
