import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createFollowUpActivities } from '../../src/activities/follow-ups';
import { recordAudit } from '../../src/services/audit';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, recordingTemporal, seedCustomer, seedStore } from '../messaging/fixtures';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let activities: ReturnType<typeof createFollowUpActivities>;
let admin: string;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  api = await buildApi(db, recordingTemporal().client);
  activities = createFollowUpActivities({ db, logger: pino({ level: 'silent' }), ...recordingCaseWorkflows() });
  admin = await adminKey(db);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const quiet = { logger: new DefaultLogger('ERROR') };
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment({}, quiet).run(fn, ...args);

/** An integration key of the store, issued through the API. */
async function integrationKey(storeId: string): Promise<{ id: string; key: string }> {
  const res = await api.request('POST', '/v1/api-keys', { headers: { authorization: `Bearer ${admin}` }, body: { name: 'dms', role: 'integration', storeId } });
  return res.json();
}

const trail = (entityId: string) => db.auditLog.findMany({ where: { entityId }, orderBy: { id: 'asc' } });

async function seedTask() {
  const { store, consultant, cr } = await seedStore(db);
  const customer = await seedCustomer(db, store.id, { window: { start: '00:00', end: '23:59' } });
  const now = Date.now();
  const { followUpId } = await run(activities.openFollowUp, {
    deliveryId: customer.deliveryId, stepKey: 'consultant-call-day-2', role: 'consultant', checklist: ['车辆使用情况'], survey: false, mandatory: false, maxAttempts: 2,
    dueStart: new Date(now - 3600_000).toISOString(), dueEnd: new Date(now + 86400_000).toISOString(),
  });
  return { storeId: store.id, consultant, cr, customer, followUpId };
}

describe('every change to a task is in the audit log', () => {
  it('opening, an outcome with a corrected phone, a retried outcome (once), a call-back request and a missed call', async () => {
    const s = await seedTask();
    const input = { followUpId: s.followUpId, outcome: { reached: false }, completedAt: new Date().toISOString(), retryAfterMinutes: 60, attemptNumber: 1, completedById: s.consultant.id };
    await run(activities.recordOutcome, input);
    await run(activities.recordOutcome, input);
    await run(activities.rescheduleFollowUp, { followUpId: s.followUpId, requestedAt: new Date(Date.now() + 7200_000).toISOString(), staffId: s.consultant.id });
    await run(activities.recordOutcome, {
      ...input, attemptNumber: 2, outcome: { reached: true, satisfied: true, correctedContact: { phone: '13912345678' } },
    });
    const rows = await trail(s.followUpId);
    expect(rows.map((r) => [r.action, r.actorKind, r.actorId])).toEqual([
      ['task.open', 'system', null],
      ['task.outcome', 'staff', s.consultant.id],
      ['task.reschedule', 'staff', s.consultant.id],
      ['task.outcome', 'staff', s.consultant.id],
    ]);
    expect(rows[0].after).toMatchObject({ assigneeId: s.consultant.id, role: 'consultant' });
    expect(rows[1]).toMatchObject({ before: { status: 'open', attempts: 0 }, after: { status: 'open', attempts: 1, reached: false } });
    expect(rows[3]).toMatchObject({ before: { attempts: 1 }, after: { status: 'done_on_time', satisfied: true, completedById: s.consultant.id } });
    const [corrected] = await trail(s.customer.customerId);
    expect(corrected).toMatchObject({ action: 'customer.contact-corrected', before: { phone: s.customer.phone }, after: { phone: '+8613912345678' } });
  });

  it('a call nobody made is recorded as missed by the system, with why; closing it again records nothing', async () => {
    const s = await seedTask();
    await run(activities.closeFollowUp, { followUpId: s.followUpId, status: 'missed' });
    await run(activities.closeFollowUp, { followUpId: s.followUpId, status: 'missed' });
    const missed = (await trail(s.followUpId)).filter((r) => r.action === 'task.missed');
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatchObject({ actorKind: 'system', after: { status: 'missed' }, reason: expect.stringContaining('two days') });
  });

  it('claim and reassign name the staff member or key, with the holder before and after; a refused claim records nothing', async () => {
    const s = await seedTask();
    const key = await integrationKey(s.storeId);
    const headers = { authorization: `Bearer ${key.key}` };
    expect((await api.request('POST', `/v1/tasks/${s.followUpId}/reassign`, { headers, body: { assigneeId: s.cr.id } })).statusCode).toBe(200);
    expect((await api.request('POST', `/v1/tasks/${s.followUpId}/claim`, { headers: { ...headers, 'x-staff-id': s.consultant.id } })).statusCode).toBe(409);
    const rows = (await trail(s.followUpId)).filter((r) => r.action !== 'task.open');
    expect(rows.map((r) => [r.action, r.actorKind, r.actorId])).toEqual([['task.reassign', 'api-key', key.id]]);
    expect(rows[0]).toMatchObject({ before: { assigneeId: s.consultant.id }, after: { assigneeId: s.cr.id } });
  });
});

describe('changes to customers and consents are in the audit log', () => {
  it('a new contact window and a consent withdrawn, with who changed them and the values before', async () => {
    const s = await seedTask();
    const key = await integrationKey(s.storeId);
    const headers = { authorization: `Bearer ${key.key}` };
    expect((await api.request('PUT', `/v1/customers/${s.customer.customerId}/contact-window`, { headers, body: { start: '10:00', end: '18:00' } })).statusCode).toBe(200);
    expect((await api.request('PUT', `/v1/customers/${s.customer.customerId}/consents`, { headers, body: { consents: [{ channel: 'sms', purpose: 'marketing', granted: false }] } })).statusCode).toBe(200);
    // The same consent again changes nothing, and records nothing.
    expect((await api.request('PUT', `/v1/customers/${s.customer.customerId}/consents`, { headers, body: { consents: [{ channel: 'sms', purpose: 'marketing', granted: false }] } })).statusCode).toBe(200);
    const rows = await trail(s.customer.customerId);
    expect(rows.map((r) => [r.entity, r.action, r.actorKind, r.actorId])).toEqual([
      ['customer', 'customer.contact-window', 'api-key', key.id],
      ['consent', 'consent.change', 'api-key', key.id],
    ]);
    expect(rows[0]).toMatchObject({ before: { start: '00:00', end: '23:59' }, after: { start: '10:00', end: '18:00' } });
    expect(rows[1]).toMatchObject({ before: { channel: 'sms', purpose: 'marketing', granted: null }, after: { granted: false, source: `api-key:${key.id}` } });
  });
});

describe('GET /v1/audit', () => {
  it('filters by record, person and period, newest first, with keyset pages', async () => {
    const s = await seedTask();
    const headers = { authorization: `Bearer ${admin}` };
    for (let i = 0; i < 3; i++) {
      await run(activities.rescheduleFollowUp, { followUpId: s.followUpId, requestedAt: new Date(Date.now() + (i + 2) * 3600_000).toISOString(), staffId: s.consultant.id });
    }
    const first = await api.request('GET', `/v1/audit?entity=task&entityId=${s.followUpId}&limit=2`, { headers });
    expect(first.statusCode).toBe(200);
    expect(first.json().entries.map((e: { action: string }) => e.action)).toEqual(['task.reschedule', 'task.reschedule']);
    const second = await api.request('GET', `/v1/audit?entity=task&entityId=${s.followUpId}&limit=2&cursor=${first.json().nextCursor}`, { headers });
    expect(second.json()).toMatchObject({ entries: [{ action: 'task.reschedule' }, { action: 'task.open' }], nextCursor: null });
    const byPerson = await api.request('GET', `/v1/audit?actorId=${s.consultant.id}`, { headers });
    expect(byPerson.json().entries).toHaveLength(3);
    const future = await api.request('GET', `/v1/audit?storeId=${s.storeId}&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { headers });
    expect(future.json().entries).toEqual([]);
  });

  it('finds a person\'s changes by their login or by any of their staff rows, signed in or named on a task', async () => {
    const s = await seedTask();
    const login = await db.staffLogin.create({ data: { login: `li.ming.${s.storeId}`, passwordHash: 'not-a-real-hash' } });
    await db.staff.update({ where: { id: s.consultant.id }, data: { loginId: login.id } });
    await db.$transaction((tx) => recordAudit(tx, { actor: { kind: 'staff', id: login.id }, action: 'template.save', entity: 'template', entityId: 't-1', storeId: s.storeId }));
    await run(activities.rescheduleFollowUp, { followUpId: s.followUpId, requestedAt: new Date(Date.now() + 5 * 3600_000).toISOString(), staffId: s.consultant.id });
    for (const id of [login.id, s.consultant.id]) {
      const { entries } = (await api.request('GET', `/v1/audit?actorId=${id}`, { headers: { authorization: `Bearer ${admin}` } })).json();
      expect(entries.map((e: { action: string }) => e.action)).toEqual(['task.reschedule', 'template.save']);
    }
  });

  it('answers another store\'s key with nothing of this store, refuses integration keys, and names bad fields', async () => {
    const s = await seedTask();
    const other = await seedStore(db);
    const otherAdmin = await adminKey(db, other.store.id);
    const mine = await api.request('GET', `/v1/audit?entity=task&entityId=${s.followUpId}`, { headers: { authorization: `Bearer ${otherAdmin}` } });
    expect(mine.json().entries).toEqual([]);
    expect((await api.request('GET', `/v1/audit?storeId=${s.storeId}`, { headers: { authorization: `Bearer ${otherAdmin}` } })).statusCode).toBe(403);
    const integration = await integrationKey(s.storeId);
    expect((await api.request('GET', '/v1/audit', { headers: { authorization: `Bearer ${integration.key}` } })).statusCode).toBe(403);
    const headers = { authorization: `Bearer ${admin}` };
    for (const [query, field] of [['entityId=x', 'entity'], ['cursor=abc', 'cursor'], ['cursor=9999999999999999999', 'cursor'], ['from=1800-01-01T00:00:00Z', 'from'], ['actorId=a%00b', 'actorId']]) {
      const res = await api.request('GET', `/v1/audit?${query}`, { headers });
      expect({ query, status: res.statusCode, fields: res.json().issues?.map((i: { field: string }) => i.field.replace(/^querystring\./, '')) }).toEqual({ query, status: 400, fields: [field] });
    }
  });

  it('has no route that edits or deletes an entry', async () => {
    const headers = { authorization: `Bearer ${admin}` };
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      expect((await api.request(method, '/v1/audit', { headers, body: {} })).statusCode).toBe(404);
    }
  });
});
