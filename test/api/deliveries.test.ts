import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDb, type Db } from '../../src/db/client';
import { vinCheckDigit } from '../../src/domain/vin';
import { type DeliveryDeps, startMissingWorkflows } from '../../src/services/deliveries';
import { createTestDatabase } from '../helpers/db';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { devServerEnv, uniqueTaskQueue } from '../helpers/temporal';
import { adminKey, type Api, buildApi, seedStore } from '../messaging/fixtures';

/**
 * POST /v1/deliveries in process, against a real database and a Temporal dev server (no worker:
 * these tests are about what the API writes and starts). Both sit behind TCP proxies that play
 * their outages: a PostgreSQL or a Temporal that hangs, a restart, connections dropped silently.
 */

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));
jest.setTimeout(60_000);

const DB_DEADLINE_MS = 1_000;
const TEMPORAL_DEADLINE_MS = 1_500;
/** What a request may take beyond its deadline: the client's last retry back-off, a loaded machine. */
const SLACK_MS = 2_500;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let env: TestWorkflowEnvironment;
let pgProxy: TcpProxy;
let temporalProxy: TcpProxy;
let db: Db;
let temporal: Client;
/** Through the proxies, with short deadlines: for the outages. */
let api: Api;
/** Straight to both, with the default deadlines: for input and races. */
let direct: Api;
let storeId: string;
let key: string;
const taskQueue = uniqueTaskQueue('deliveries');

const portOf = (address: string) => Number(/:(\d+)(\/|$)/.exec(address)![1]);

beforeAll(async () => {
  t = await createTestDatabase();
  env = await devServerEnv();
  pgProxy = await startTcpProxy(portOf(t.url));
  temporalProxy = await startTcpProxy(portOf(env.address));
  db = createDb(t.url.replace(`:${portOf(t.url)}/`, `:${pgProxy.port}/`), 3, { connectTimeoutMs: DB_DEADLINE_MS, statementTimeoutMs: DB_DEADLINE_MS });
  temporal = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${temporalProxy.port}` }) });
  api = await buildApi(db, temporal, { TEMPORAL_TASK_QUEUE: taskQueue, TEMPORAL_REQUEST_TIMEOUT_MS: String(TEMPORAL_DEADLINE_MS) });
  direct = await buildApi(t.db, env.client, { TEMPORAL_TASK_QUEUE: taskQueue });
  storeId = (await seedStore(t.db)).store.id;
  key = await adminKey(t.db);
});

afterAll(async () => {
  await api?.close();
  await direct?.close();
  await db?.$disconnect();
  await temporal?.connection.close();
  await pgProxy?.close();
  await temporalProxy?.close();
  await env?.teardown();
  await t?.drop();
});

let serial = Math.floor(Math.random() * 900_000);
function delivery(overrides: { deliveredAt?: Date; consultant?: object; customer?: object } = {}) {
  serial += 1;
  const draft = `LSVAU2180N2${String(serial).padStart(6, '0')}`;
  return {
    storeId,
    deliveredAt: (overrides.deliveredAt ?? new Date()).toISOString(),
    customer: { externalId: `C-${serial}`, name: '王芳', phone: '13812345678', ...overrides.customer },
    vehicle: { vin: draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9), model: '汉兰达' },
    consultant: { externalId: 'S-01', name: '李明', ...overrides.consultant },
  };
}

async function send(method: string, path: string, body?: object, through: Api = api) {
  const started = Date.now();
  const res = await fetch(`${through.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started };
}

const recorded = (body: ReturnType<typeof delivery>) =>
  t.db.delivery.findMany({ where: { storeId, vehicle: { vin: body.vehicle.vin } } });

describe('a delivery\'s date', () => {
  const hour = 3600_000;
  const day = 24 * hour;

  it.each([
    ['two hours in the future', () => new Date(Date.now() + 2 * hour)],
    ['in year 9999', () => new Date('9999-12-31T00:00:00Z')],
    ['in 1900', () => new Date('1900-01-01T00:00:00Z')],
    ['400 days ago, beyond DELIVERY_MAX_AGE_DAYS (365)', () => new Date(Date.now() - 400 * day)],
  ])('%s is a 400 naming deliveredAt, and nothing is written', async (_when, deliveredAt) => {
    const body = delivery({ deliveredAt: deliveredAt(), consultant: { externalId: `S-new-${serial}` } });
    const res = await send('POST', '/v1/deliveries', body, direct);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { field: string }) => i.field)).toEqual(['deliveredAt']);
    expect(await recorded(body)).toEqual([]);
    expect(await t.db.vehicle.count({ where: { vin: body.vehicle.vin } })).toBe(0);
    expect(await t.db.customer.count({ where: { storeId, externalId: body.customer.externalId } })).toBe(0);
    expect(await t.db.staff.count({ where: { storeId, externalId: body.consultant.externalId } })).toBe(0);
  });

  it.each([
    ['three minutes ahead (clock skew)', () => new Date(Date.now() + 3 * 60_000)],
    ['300 days ago (a DMS catching up)', () => new Date(Date.now() - 300 * day)],
  ])('%s is accepted', async (_when, deliveredAt) => {
    expect((await send('POST', '/v1/deliveries', delivery({ deliveredAt: deliveredAt() }), direct)).status).toBe(201);
  });

  it('an old delivery posted again is returned, though it is now older than a new one may be', async () => {
    const body = delivery({ deliveredAt: new Date(Date.now() - 300 * day) });
    const first = await send('POST', '/v1/deliveries', body, direct);
    // A year later, as far as the horizon goes:
    const longAgo = new Date(Date.now() - 400 * day);
    await t.db.delivery.update({ where: { id: first.body.id }, data: { deliveredAt: longAgo } });
    const again = await send('POST', '/v1/deliveries', { ...body, deliveredAt: longAgo.toISOString() }, direct);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });
});

describe('the delivery\'s texts', () => {
  it.each([
    ['customer.name', { customer: { name: '王\u0000芳' } }],
    ['customer.name', { customer: { name: '\u200B\u200D' } }],
    ['consultant.name', { consultant: { externalId: 'S-rtl', name: '李\u202E明' } }],
  ])('%s with a control or invisible character is a 400 naming it', async (field, overrides) => {
    const body = delivery(overrides);
    const res = await send('POST', '/v1/deliveries', body, direct);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { field: string }) => i.field)).toEqual([field]);
    expect(await recorded(body)).toEqual([]);
  });
});

describe('what a delivery reads of its store and customer', () => {
  it('a new plan version reaches the very next delivery; one recorded before keeps its version', async () => {
    // A store of its own: the plan change must not reach the other tests' deliveries.
    const own = (await seedStore(t.db)).store.id;
    const before = await send('POST', '/v1/deliveries', { ...delivery(), storeId: own }, direct);
    expect(before.status).toBe(201);
    const plan = await send('GET', `/v1/stores/${own}/plan`, undefined, direct);
    const steps = plan.body.steps.filter((s: { key: string }) => s.key !== 'delivery-care-2h');
    expect((await send('PUT', `/v1/stores/${own}/plan`, { steps }, direct)).status).toBe(200);
    const after = await send('POST', '/v1/deliveries', { ...delivery(), storeId: own }, direct);
    expect(after.status).toBe(201);
    expect(after.body.planVersion).toBe(before.body.planVersion + 1);
    // The workflow was started with the new version's steps (the answer shows the input's schedule).
    expect(after.body.workflow.steps.map((s: { key: string }) => s.key)).not.toContain('delivery-care-2h');
    expect(before.body.workflow.steps.map((s: { key: string }) => s.key)).toContain('delivery-care-2h');
    const rows = await t.db.delivery.findMany({ where: { id: { in: [before.body.id, after.body.id] } }, include: { plan: true } });
    expect(rows.find((d) => d.id === before.body.id)!.plan!.version).toBe(before.body.planVersion);
  });

  it('a returning customer\'s same details are not written again; a new phone is, and audited; an email left out stays', async () => {
    const first = delivery({ customer: { email: 'wang.fang@example.com' } });
    expect((await send('POST', '/v1/deliveries', first, direct)).status).toBe(201);
    const where = { storeId, externalId: first.customer.externalId };
    const audits = () => t.db.auditLog.findMany({ where: { entity: 'customer', entityId: customerId }, orderBy: { at: 'asc' } });
    const { id: customerId, updatedAt } = await t.db.customer.findUniqueOrThrow({ where: { storeId_externalId: where } });
    expect((await audits()).map((a) => a.action)).toEqual(['customer.create']);

    const same = { ...delivery(), customer: first.customer };
    expect((await send('POST', '/v1/deliveries', same, direct)).status).toBe(201);
    expect((await t.db.customer.findUniqueOrThrow({ where: { storeId_externalId: where } })).updatedAt).toEqual(updatedAt);
    expect(await audits()).toHaveLength(1);

    const { email: _left, ...withoutEmail } = first.customer as typeof first.customer & { email: string };
    const moved = { ...delivery(), customer: { ...withoutEmail, phone: '13912345678' } };
    expect((await send('POST', '/v1/deliveries', moved, direct)).status).toBe(201);
    const now = await t.db.customer.findUniqueOrThrow({ where: { storeId_externalId: where } });
    expect(now.phone).toBe('+8613912345678');
    expect(now.email).toBe('wang.fang@example.com');
    expect((await audits()).map((a) => a.action)).toEqual(['customer.create', 'customer.update']);
    const [created, updated] = await audits();
    expect(created).toMatchObject({ actorKind: 'api-key', before: null, after: { phone: expect.any(String), email: 'wang.fang@example.com' } });
    expect(updated).toMatchObject({ actorKind: 'api-key', before: { phone: (created.after as { phone: string }).phone }, after: { phone: '+8613912345678', email: 'wang.fang@example.com' } });
  });
});

describe('concurrent deliveries', () => {
  it('ten at once naming the same new consultant all succeed, and add the consultant once', async () => {
    const consultant = { externalId: `S-race-${serial}`, name: '新顾问' };
    const results = await Promise.all(Array.from({ length: 10 }, () => send('POST', '/v1/deliveries', delivery({ consultant }), direct)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(await t.db.staff.count({ where: { storeId, externalId: consultant.externalId } })).toBe(1);
  });

  it('ten at once naming the same new customer all succeed, and add the customer once', async () => {
    const customer = { externalId: `C-race-${serial}` };
    const results = await Promise.all(Array.from({ length: 10 }, () => send('POST', '/v1/deliveries', delivery({ customer }), direct)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(await t.db.customer.count({ where: { storeId, externalId: customer.externalId } })).toBe(1);
  });

  it('the same delivery posted ten times at once is recorded once', async () => {
    const body = delivery();
    const results = await Promise.all(Array.from({ length: 10 }, () => send('POST', '/v1/deliveries', body, direct)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await recorded(body)).toHaveLength(1);
  });
});

describe('Temporal hangs', () => {
  afterEach(() => temporalProxy.thaw());

  const deps = (): DeliveryDeps => ({ db: t.db, temporal, taskQueue });
  const log = { info: () => undefined, warn: () => undefined };

  it('a delivery posted meanwhile answers 503 in time, stays recorded with its start pending, and posting it again starts it', async () => {
    temporalProxy.freeze();
    const body = delivery();
    const res = await send('POST', '/v1/deliveries', body);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({ error: 'ServiceUnavailable', dependency: 'temporal' });
    expect(res.ms).toBeLessThan(TEMPORAL_DEADLINE_MS + SLACK_MS);
    const [pending] = await recorded(body);
    expect(pending.workflowStartedAt).toBeNull();

    temporalProxy.thaw();
    const again = await send('POST', '/v1/deliveries', body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: pending.id, workflowStartedAt: expect.any(String) });
    const described = await env.client.workflow.getHandle(pending.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
  });

  it('the reconciler starts what an outage left pending, once, and stops its round while Temporal does not answer', async () => {
    temporalProxy.freeze();
    const bodies = [delivery(), delivery()];
    for (const body of bodies) expect((await send('POST', '/v1/deliveries', body)).status).toBe(503);
    const started = Date.now();
    expect(await startMissingWorkflows(deps(), { graceMs: 0, startTimeoutMs: TEMPORAL_DEADLINE_MS, log })).toBe(0);
    expect(Date.now() - started).toBeLessThan(TEMPORAL_DEADLINE_MS + SLACK_MS); // one try, not one per delivery

    temporalProxy.thaw();
    expect(await startMissingWorkflows(deps(), { graceMs: 0, startTimeoutMs: TEMPORAL_DEADLINE_MS, log })).toBeGreaterThanOrEqual(2);
    for (const body of bodies) {
      const [d] = await recorded(body);
      expect(d.workflowStartedAt).not.toBeNull();
      expect((await env.client.workflow.getHandle(d.workflowId).describe()).status.name).toBe('RUNNING');
    }
    expect(await startMissingWorkflows(deps(), { graceMs: 0, startTimeoutMs: TEMPORAL_DEADLINE_MS, log })).toBe(0);
  });

  it('readiness says so, liveness does not', async () => {
    expect((await send('GET', '/health/ready')).status).toBe(200);
    temporalProxy.freeze();
    const ready = await send('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', postgresql: 'ok', temporal: 'timeout' });
    expect((await send('GET', '/health')).status).toBe(200);
  });
});

describe('PostgreSQL', () => {
  afterEach(() => pgProxy.thaw());
  const unknownDelivery = '/v1/deliveries/00000000-0000-4000-8000-000000000000';

  it('hung: requests answer 503 naming it within the deadline, readiness flips, and both recover when it answers', async () => {
    expect((await send('GET', unknownDelivery)).status).toBe(404);
    pgProxy.freeze();
    const res = await send('GET', unknownDelivery);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({ error: 'ServiceUnavailable', dependency: 'postgresql' });
    expect(res.ms).toBeLessThan(DB_DEADLINE_MS * 3 + SLACK_MS);
    const posted = await send('POST', '/v1/deliveries', delivery());
    expect(posted.status).toBe(503);
    expect(posted.body.dependency).toBe('postgresql');

    const ready = await send('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'unavailable', temporal: 'ok' });
    expect(ready.body.postgresql).not.toBe('ok');
    expect((await send('GET', '/health')).status).toBe(200);

    pgProxy.thaw();
    expect((await send('GET', unknownDelivery)).status).toBe(404);
    expect((await send('GET', '/health/ready')).status).toBe(200);
  });

  it('the first request after a restart succeeds', async () => {
    expect((await send('GET', unknownDelivery)).status).toBe(404);
    pgProxy.reset();
    await new Promise((r) => setTimeout(r, 200));
    expect((await send('GET', unknownDelivery)).status).toBe(404);
  });

  it('the first request after its connections were dropped without a word succeeds', async () => {
    await Promise.all([1, 2, 3].map(() => send('GET', unknownDelivery)));
    await new Promise((r) => setTimeout(r, 1_200)); // idle long enough to be checked before use
    pgProxy.dropSilently();
    expect((await send('GET', unknownDelivery)).status).toBe(404);
    expect((await send('POST', '/v1/deliveries', delivery())).status).toBe(201);
  });
});
