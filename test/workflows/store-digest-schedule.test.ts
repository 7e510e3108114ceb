import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDigestActivities } from '../../src/activities/digest';
import { createNotificationActivities } from '../../src/activities/notifications';
import { createReplacementActivities } from '../../src/activities/replacement';
import type { Db } from '../../src/db/client';
import type { OutboundMessage, Transport } from '../../src/messaging/transports';
import { syncDigestSchedule } from '../../src/services/digest-schedules';
import { digestScheduleId } from '../../src/workflows/contract';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, type TestWorker, devServerEnv, uniqueTaskQueue } from '../helpers/temporal';
import { adminKey, type Api, buildApi, silentLogger } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

/**
 * The store's digest schedule on the dev server (the time-skipping server has no schedules): the
 * API creates it with the store, follows its hour, zone and pause, and a run of it mails the managers.
 */
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let workerRun: Promise<void>;
let api: Api;
let admin: string;
const taskQueue = uniqueTaskQueue('digest');
const mail: OutboundMessage[] = [];
const email: Transport = { name: 'smtp', send: async (m) => { mail.push(m); return { providerId: m.idempotencyKey }; } };

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  env = await devServerEnv();
  const deps = { db, email, logger: silentLogger };
  ({ worker } = await createTestWorker(env, { ...createDigestActivities(deps), ...createNotificationActivities(deps), ...createReplacementActivities({ ...deps, temporal: env.client }) }, taskQueue));
  workerRun = worker.run();
  api = await buildApi(db, env.client, { TEMPORAL_TASK_QUEUE: taskQueue });
  admin = await adminKey(db);
}, 120_000);

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await workerRun;
  await env?.teardown();
  await t?.drop();
});

const headers = () => ({ authorization: `Bearer ${admin}` });
const describeSchedule = (storeId: string) => env.client.schedule.getHandle(digestScheduleId(storeId)).describe();

describe('the store\'s digest schedule', () => {
  it('is created with the store, at 08:00 in its time zone, and follows changes to its hour, zone and pause', async () => {
    const created = await api.request('POST', '/v1/stores', { headers: headers(), body: { id: 'digest-a', name: '汇方汽车浦东店', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' } });
    expect(created.statusCode).toBe(201);
    let schedule = await describeSchedule('digest-a');
    expect(schedule.spec).toMatchObject({ timezone: 'Asia/Shanghai', calendars: [expect.objectContaining({ hour: [{ start: 8, end: 8, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] })] });
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'storeDigest', args: [{ storeId: 'digest-a' }], taskQueue });
    expect(schedule.state.paused).toBe(false);

    const changed = await api.request('PATCH', '/v1/stores/digest-a/settings', { headers: headers(), body: { digestHour: 7, timeZone: 'Europe/Berlin' } });
    expect(changed.json()).toMatchObject({ digestHour: 7, timeZone: 'Europe/Berlin', paused: false, reclaimAfterDays: 30 });
    schedule = await describeSchedule('digest-a');
    expect(schedule.spec).toMatchObject({ timezone: 'Europe/Berlin', calendars: [expect.objectContaining({ hour: [{ start: 7, end: 7, step: 1 }] })] });

    await api.request('PATCH', '/v1/stores/digest-a/settings', { headers: headers(), body: { paused: true } });
    expect((await describeSchedule('digest-a')).state).toMatchObject({ paused: true, note: 'the store is paused' });
    await api.request('PATCH', '/v1/stores/digest-a/settings', { headers: headers(), body: { paused: false } });
    expect((await describeSchedule('digest-a')).state.paused).toBe(false);

    const audit = await db.auditLog.findMany({ where: { entity: 'store', entityId: 'digest-a' }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['store.create', 'store.update', 'store.update', 'store.update']);
    expect(audit[1]).toMatchObject({ before: { digestHour: 8, timeZone: 'Asia/Shanghai' }, after: { digestHour: 7, timeZone: 'Europe/Berlin' } });
  });

  it('syncing is idempotent, and creates a schedule that is missing (a store made while Temporal was down)', async () => {
    await db.store.create({ data: { id: 'digest-b', name: 'B', timeZone: 'Asia/Shanghai', digestHour: 9 } });
    const store = await db.store.findUniqueOrThrow({ where: { id: 'digest-b' } });
    await Promise.all([syncDigestSchedule(env.client, taskQueue, store), syncDigestSchedule(env.client, taskQueue, store)]);
    await syncDigestSchedule(env.client, taskQueue, store);
    expect((await describeSchedule('digest-b')).spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 9, end: 9, step: 1 }] })]);
  });

  it('a run mails the store\'s managers their digest', async () => {
    await db.staff.create({ data: { storeId: 'digest-a', externalId: 'm', name: '张经理', role: 'manager', email: 'manager@example.com' } });
    const handle = env.client.schedule.getHandle(digestScheduleId('digest-a'));
    await handle.trigger();
    const deadline = Date.now() + 30_000;
    let workflowId: string | undefined;
    while (!workflowId && Date.now() < deadline) {
      workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!workflowId) await new Promise((r) => setTimeout(r, 200));
    }
    expect(workflowId).toMatch(/^store-digest-digest-a/);
    const result = await env.client.workflow.getHandle(workflowId!).result();
    expect(result).toMatchObject({ recipients: 1, notices: { sent: 1 }, alerts: [] });
    expect(mail).toEqual([expect.objectContaining({ to: 'manager@example.com', subject: expect.stringContaining('汇方汽车浦东店') })]);
  });

  it('KPI thresholds are set, listed and removed, each change audited; a rate is 0-100, NPS may be negative', async () => {
    const put = (kpi: string, minimum: number) => api.request('PUT', `/v1/stores/digest-a/kpi-thresholds/${kpi}`, { headers: headers(), body: { minimum } });
    expect((await put('timeliness', 90)).json()).toMatchObject({ kpi: 'timeliness', minimum: 90, label: { zh: '跟踪及时率' } });
    expect((await put('timeliness', 85)).statusCode).toBe(200);
    expect((await put('nps', -10)).statusCode).toBe(200);
    expect((await put('satisfaction', -1)).json().issues).toEqual([expect.objectContaining({ field: 'minimum' })]);
    expect((await put('happiness', 50)).statusCode).toBe(400);
    const list = await api.request('GET', '/v1/stores/digest-a/kpi-thresholds', { headers: headers() });
    expect(list.json().map((r: { kpi: string; minimum: number }) => [r.kpi, r.minimum])).toEqual([['nps', -10], ['timeliness', 85]]);
    expect((await api.request('DELETE', '/v1/stores/digest-a/kpi-thresholds/nps', { headers: headers() })).statusCode).toBe(204);
    expect((await api.request('DELETE', '/v1/stores/digest-a/kpi-thresholds/nps', { headers: headers() })).statusCode).toBe(404);
    const audit = await db.auditLog.findMany({ where: { entity: 'kpi-threshold' }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => [a.action, a.before, a.after])).toEqual([
      ['kpi-threshold.set', null, { minimum: 90 }], ['kpi-threshold.set', { minimum: 90 }, { minimum: 85 }],
      ['kpi-threshold.set', null, { minimum: -10 }], ['kpi-threshold.remove', { minimum: -10 }, null],
    ]);
  });

  it('names the field of a bad setting', async () => {
    for (const [body, field] of [[{ digestHour: 24 }, 'digestHour'], [{ timeZone: 'Mars/Olympus' }, 'timeZone'], [{ reclaimAfterDays: 0 }, 'reclaimAfterDays'], [{}, 'body']] as const) {
      const res = await api.request('PATCH', '/v1/stores/digest-a/settings', { headers: headers(), body });
      expect({ body, status: res.statusCode, fields: res.json().issues?.map((i: { field: string }) => i.field) }).toEqual({ body, status: 400, fields: [field] });
    }
  });
});
