import { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createCaseActivities } from '../../src/activities/cases';
import type { Db } from '../../src/db/client';
import { createOutboxTransport } from '../../src/messaging/transports';
import { createApiKey } from '../../src/services/stores';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, type TestWorker, timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../helpers/temporal';
import { Api, buildApi } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

/**
 * The case API over HTTP against a real database, Temporal (time-skipping) and the case workflow:
 * opening by hand, the timeline, the desk's actions with their refusals, filters and pages, the
 * working calendar and policy with 400s naming the field, and another store's case as a 404.
 */
jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let worker: TestWorker;
let running: Promise<void>;
let api: Api;
let key: string;
let otherKey: string;
let deliveryId: string;
const staff: Record<string, string> = {};

beforeAll(async () => {
  [env, t] = await Promise.all([timeSkippingEnv(), createTestDatabase(), workflowBundle()]);
  db = t.db;
  const taskQueue = uniqueTaskQueue('case-api');
  ({ worker } = await createTestWorker(env, createCaseActivities({ db, logger: pino({ level: 'silent' }), sms: createOutboxTransport(), email: createOutboxTransport(), publicBaseUrl: 'http://127.0.0.1' }), taskQueue));
  running = worker.run();
  api = await buildApi(db, env.client, { TEMPORAL_TASK_QUEUE: taskQueue });
  for (const id of ['desk-a', 'desk-b']) await db.store.create({ data: { id, name: id, serviceHotline: '400-800-8888' } });
  for (const [name, role] of [['cr', 'cr_specialist'], ['manager', 'manager'], ['consultant', 'consultant']]) {
    staff[name] = (await db.staff.create({ data: { storeId: 'desk-a', externalId: name, name, role } })).id;
  }
  staff.elsewhere = (await db.staff.create({ data: { storeId: 'desk-b', externalId: 'x', name: 'x', role: 'cr_specialist' } })).id;
  const customer = await db.customer.create({ data: { storeId: 'desk-a', externalId: 'C-1', name: '王芳', phone: '+8613700000001' } });
  const vehicle = await db.vehicle.create({ data: { storeId: 'desk-a', vin: 'LSVAU2180N2700001', model: '帕萨特' } });
  deliveryId = (await db.delivery.create({ data: { storeId: 'desk-a', vehicleId: vehicle.id, customerId: customer.id, consultantId: staff.consultant, deliveredAt: new Date(), workflowId: 'vehicle-desk-a' } })).id;
  key = (await createApiKey(db, { name: 'desk', role: 'admin', storeId: 'desk-a' })).key;
  otherKey = (await createApiKey(db, { name: 'other', role: 'admin', storeId: 'desk-b' })).key;
});

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await env?.teardown();
  await t?.drop();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, as = key) =>
  api.request(method, path, { body: body as object | undefined, headers: { authorization: `Bearer ${as}`, ...headers } });
const fields = (res: { json(): { issues?: { field: string }[] } }) => res.json().issues?.map((i) => i.field);

async function openByHand(detail = '客户来店投诉：等待交车两小时'): Promise<string> {
  const res = await call('POST', '/v1/cases', { deliveryId, detail });
  expect(res.statusCode).toBe(201);
  const id: string = res.json().id;
  for (let i = 0; i < 100 && (await db.escalationCase.findUniqueOrThrow({ where: { id } })).respondBy === null; i++) await new Promise((r) => setTimeout(r, 50));
  return id;
}

describe('the case API', () => {
  it('opens a case by hand, shows its whole timeline, and takes the desk\'s actions', async () => {
    const id = await openByHand();
    const opened = (await call('GET', `/v1/cases/${id}`)).json();
    expect(opened).toMatchObject({ status: 'open', level: 1, assigneeId: staff.cr, reason: 'manual', openedBy: expect.stringMatching(/^api-key:/), customer: { name: '王芳' } });
    expect(opened.timeline.map((e: { kind: string }) => e.kind)).toEqual(['opened']);

    const ack = { 'idempotency-key': 'ack-1' };
    expect((await call('POST', `/v1/cases/${id}/acknowledge`, { note: '已联系客户' }, ack)).statusCode).toBe(200);
    // The same request again (a retry) is the same update: answered, recorded once.
    expect((await call('POST', `/v1/cases/${id}/acknowledge`, { note: '已联系客户' }, ack)).statusCode).toBe(200);
    const again = await call('POST', `/v1/cases/${id}/acknowledge`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/acknowledged/);

    expect(fields(await call('POST', `/v1/cases/${id}/reassign`, { assigneeId: staff.elsewhere }))).toEqual(['assigneeId']);
    expect((await call('POST', `/v1/cases/${id}/reassign`, { assigneeId: staff.manager, note: '需经理处理' })).json().assigneeId).toBe(staff.manager);
    expect(fields(await call('POST', `/v1/cases/${id}/resolve`, { rootCause: 'delivery-process', resolution: '已道歉' }))).toEqual(['confirmation']);
    expect(fields(await call('POST', `/v1/cases/${id}/resolve`, { rootCause: 'weather', resolution: '已道歉', confirmation: { channel: 'phone', at: new Date().toISOString() } }))).toEqual(['rootCause']);
    const resolved = await call('POST', `/v1/cases/${id}/resolve`, { rootCause: 'delivery-process', resolution: '已道歉并赠送保养', confirmation: { channel: 'phone', at: new Date().toISOString() } });
    expect(resolved.json()).toMatchObject({ status: 'resolved', rootCause: 'delivery-process', confirmedVia: 'phone', dueAt: null });
    expect((await call('POST', `/v1/cases/${id}/reassign`, { assigneeId: staff.cr })).statusCode).toBe(409);
    expect((await call('POST', `/v1/cases/${id}/notes`, { note: '客户回访满意' })).statusCode).toBe(200);
    const reopened = await call('POST', `/v1/cases/${id}/reopen`, { reason: '客户再次来电' });
    expect(reopened.json()).toMatchObject({ status: 'open', acknowledgedAt: null });
    expect(reopened.json().timeline.map((e: { kind: string }) => e.kind)).toEqual(['opened', 'acknowledged', 'reassigned', 'resolved', 'note', 'reopened']);
    expect(reopened.json().timeline[2]).toMatchObject({ fromAssigneeId: staff.cr, toAssigneeId: staff.manager, detail: '需经理处理' });

    // Another store's key sees nothing of it.
    expect((await call('GET', `/v1/cases/${id}`, undefined, {}, otherKey)).statusCode).toBe(404);
    expect((await call('POST', `/v1/cases/${id}/notes`, { note: 'x' }, {}, otherKey)).statusCode).toBe(404);
    expect((await call('GET', '/v1/cases?status=all', undefined, {}, otherKey)).json().cases).toEqual([]);
  });

  it('refuses every action on a closed case with a 409', async () => {
    const id = await openByHand('已关闭的案件');
    await env.client.workflow.getHandle(`case-${id}`).terminate('closed for the test');
    await db.escalationCase.update({ where: { id }, data: { status: 'closed' } });
    expect((await call('POST', `/v1/cases/${id}/notes`, { note: 'x' })).statusCode).toBe(409);
    expect((await call('POST', `/v1/cases/${id}/reopen`, { reason: 'x' })).statusCode).toBe(409);
  });

  it('lists with filters and keyset pages, and refuses a forged cursor naming it', async () => {
    for (let i = 0; i < 3; i++) await openByHand(`列表 ${i}`);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await call('GET', `/v1/cases?assigneeId=${staff.cr}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
      all.push(...page.cases.map((c: { id: string }) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe((await db.escalationCase.count({ where: { assigneeId: staff.cr, status: 'open' } })));
    expect((await call('GET', '/v1/cases?overdue=true')).json().cases).toEqual([]);
    expect((await call('GET', '/v1/cases?level=2')).json().cases).toEqual([]);
    expect(fields(await call('GET', '/v1/cases?cursor=nonsense_x'))).toEqual(['cursor']);
    expect(fields(await call('GET', '/v1/cases?level=7'))).toEqual(['querystring.level']);
  });
});

describe('the working calendar and case policy', () => {
  it('reads the mainland default, replaces a year for the store, and names each bad field', async () => {
    const standard = (await call('GET', '/v1/stores/desk-a/calendar/2026')).json();
    expect(standard).toMatchObject({ source: 'default' });
    expect(standard.workdays).toContainEqual({ date: '2026-10-10', name: '国庆节调休' });

    const bad = await call('PUT', '/v1/stores/desk-a/calendar/2026', { holidays: [{ date: '2027-01-01', name: '元旦' }, { date: '2026-13-01', name: 'x' }], workdays: [] });
    expect(bad.statusCode).toBe(400);
    expect(fields(bad)).toEqual(['holidays.1.date', 'holidays.0.date']);
    expect(fields(await call('PUT', '/v1/stores/desk-a/calendar/2026', { holidays: [] }))).toEqual(['workdays']);

    const own = { holidays: [{ date: '2026-12-31', name: '店庆' }], workdays: [{ date: '2026-12-26', name: '补班' }] };
    expect((await call('PUT', '/v1/stores/desk-a/calendar/2026', own)).json()).toMatchObject({ source: 'store', ...own });
    expect((await call('GET', '/v1/stores/desk-a/calendar/2026')).json()).toMatchObject({ source: 'store', ...own });
    expect((await call('PUT', '/v1/stores/desk-a/calendar/2026', own, {}, otherKey)).statusCode).toBe(403);
  });

  it('sets opening hours and deadlines, refusing hours that never open or end before they start', async () => {
    expect((await call('GET', '/v1/stores/desk-a/case-policy')).json()).toMatchObject({ firstResponseMinutes: 240, resolutionMinutes: 1440, smsFromLevel: 3 });
    const week = [...Array(6).fill({ start: '08:30', end: '18:00' }), null];
    const set = await call('PUT', '/v1/stores/desk-a/case-policy', { openingHours: week, firstResponseMinutes: 120, resolutionMinutes: 960, smsFromLevel: 2 });
    expect(set.json()).toMatchObject({ openingHours: week, firstResponseMinutes: 120 });
    expect(fields(await call('PUT', '/v1/stores/desk-a/case-policy', { openingHours: Array(7).fill(null), firstResponseMinutes: 1, resolutionMinutes: 1, smsFromLevel: null }))).toEqual(['openingHours']);
    expect(fields(await call('PUT', '/v1/stores/desk-a/case-policy', { openingHours: [{ start: '18:00', end: '09:00' }, ...week.slice(1)], firstResponseMinutes: 0, resolutionMinutes: 1, smsFromLevel: null })))
      .toEqual(['openingHours.0.end', 'firstResponseMinutes']);
    const audit = await db.auditLog.findMany({ where: { entity: 'store', entityId: 'desk-a' }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['store.calendar', 'store.case-policy']);
  });
});
