import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { createActivities } from '../../src/activities';
import { createApiKey } from '../../src/services/stores';
import type { Db } from '../../src/db/client';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { vinCheckDigit } from '../../src/domain/vin';
import { createOutboxTransport } from '../../src/messaging/transports';
import { UNSUBSCRIBE_PATH, unsubscribeLinks } from '../../src/messaging/unsubscribe';
import { TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH } from '../../src/messaging/twilio-webhook';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, type TestWorker, devServerEnv, uniqueTaskQueue } from '../helpers/temporal';
import { adminKey, type Api, buildApi, PUBLIC_BASE_URL, seedStore, silentLogger, twilioSignature, zoneWhereItIsNoon } from '../messaging/fixtures';

/**
 * The API fuzzed, in process, against a real database, a Temporal server and a worker running the
 * real workflow and activities. Each route family gets requests built from a valid one with values
 * replaced by what breaks code: NUL and other control characters, invisible and direction-override
 * text, huge and fractional numbers, far and impossible dates, empty strings, wrong types, and the
 * IDs of another store's records. Every answer must come within the deadline, below 500 and well
 * formed (a 4xx has the error body), and no 2xx to a key of one store may show the other's records.
 * FUZZ_SEED replays a run; FUZZ_RUNS sets the requests per family.
 */

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));
jest.setTimeout(150_000);

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS_PER_FAMILY = Number(process.env.FUZZ_RUNS ?? 40);
const REQUEST_DEADLINE_MS = 10_000;
// A loaded machine must not make the run long: past this, no new request is sent (each hung request is a finding of its own).
const RUN_BUDGET_MS = 45_000;
const PARALLEL = 4;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let env: TestWorkflowEnvironment;
let worker: TestWorker;
let workerRun: Promise<void>;
let api: Api;

/** What the fuzzer feeds in: real records of store A (the keys' own) and of store B (another store's). */
interface World {
  a: StoreRecords;
  b: StoreRecords;
  keys: { groupAdmin: string; aAdmin: string; aIntegration: string; bAdmin: string };
}
interface StoreRecords {
  storeId: string;
  deliveryIds: string[];
  taskIds: string[];
  customerIds: string[];
  staffIds: string[];
}
let world: World;

function vin(serial: number): string {
  const draft = `LSVAU2180N2${String(serial).padStart(6, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}
let vinSerial = Math.floor(Math.random() * 900_000);

function validDelivery(storeId: string, deliveredAt = new Date()) {
  vinSerial += 1;
  return {
    storeId,
    deliveredAt: deliveredAt.toISOString(),
    customer: { externalId: `C-${vinSerial}`, name: '王芳', phone: '13812345678', email: 'wang.fang@example.com', contactWindow: { start: '00:00', end: '23:59' } },
    vehicle: { vin: vin(vinSerial), model: '汉兰达 Highlander', plate: '沪A12345' },
    consultant: { externalId: 'S-01', name: '李明', phone: '13900001111' },
  };
}

async function send(method: string, path: string, opts: { key?: string; body?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${api.baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  env = await devServerEnv();
  const taskQueue = uniqueTaskQueue('fuzz');
  const activities = createActivities({
    db, sms: createOutboxTransport(), email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger, temporal: env.client, taskQueue,
  });
  ({ worker } = await createTestWorker(env, activities, taskQueue));
  workerRun = worker.run();
  api = await buildApi(db, env.client, { TEMPORAL_TASK_QUEUE: taskQueue });

  const zone = zoneWhereItIsNoon();
  const [a, b] = [(await seedStore(db, { timeZone: zone })).store.id, (await seedStore(db, { timeZone: zone })).store.id];
  const keys = {
    groupAdmin: await adminKey(db),
    aAdmin: await adminKey(db, a),
    aIntegration: (await createApiKey(db, { name: 'dms', role: 'integration', storeId: a })).key,
    bAdmin: await adminKey(db, b),
  };
  // Deliveries two and five days ago: their day-2 and day-4-6 calls are open tasks now.
  const day = 24 * 3600_000;
  for (const storeId of [a, b]) {
    for (const daysAgo of [2, 5]) {
      const res = await send('POST', '/v1/deliveries', { key: keys.groupAdmin, body: validDelivery(storeId, new Date(Date.now() - daysAgo * day)) });
      if (res.status !== 201) throw new Error(`seeding a delivery: ${res.status} ${res.text}`);
    }
  }
  const deadline = Date.now() + 20_000;
  while ((await db.followUp.count({ where: { kind: 'call', status: 'open' } })) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const records = async (storeId: string): Promise<StoreRecords> => ({
    storeId,
    deliveryIds: (await db.delivery.findMany({ where: { storeId }, select: { id: true } })).map((r) => r.id),
    taskIds: (await db.followUp.findMany({ where: { storeId, kind: 'call' }, select: { id: true } })).map((r) => r.id),
    customerIds: (await db.customer.findMany({ where: { storeId }, select: { id: true } })).map((r) => r.id),
    staffIds: (await db.staff.findMany({ where: { storeId }, select: { id: true } })).map((r) => r.id),
  });
  world = { a: await records(a), b: await records(b), keys };
});

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await env?.teardown();
  await t?.drop();
});

// ---- values that break code -------------------------------------------------------------------

const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\u0007\u001B[2J', '\u0085', '\u202E', '\u200B\u200D\uFEFF', '\u3164', '\uD800', '😀',
  'x'.repeat(5_000), '9999-12-31T23:59:59Z', '0000-01-01', '-1', 'null', 'undefined', '../../etc/passwd', "' OR 1=1 --",
  '{{customerName}}', '%00', '+86 138 1234 567', '+86 0138 1234 5678', '__proto__', 'constructor',
];
const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ maxLength: 200 }));
const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, 0.5, 1e12, 3_000_000, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const nastyDate = fc.oneof(
  fc.constantFrom('9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '1900-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '2100-12-31T23:59:59Z',
    '2026-02-30T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '2026-01-01', '2026-01-01T00:00:00', '2026-13-01T00:00:00Z'),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
);
const validDay = fc.date({ min: new Date('2024-01-01'), max: new Date('2027-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString, nastyNumber, nastyDate, fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}),
  fc.array(nastyString, { maxLength: 3 }), fc.dictionary(nastyString, nastyString, { maxKeys: 2 }),
);

type Path = (string | number)[];
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return prefix.length ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [...(prefix.length ? [prefix] : []), ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}
function setAt(root: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return root;
}

/** A valid value with one to three parts replaced by something of its own type gone wrong, of another type, or left out. */
function mutated<T>(valid: T | (() => T)): fc.Arbitrary<unknown> {
  const make = typeof valid === 'function' ? (valid as () => T) : () => structuredClone(valid);
  const edit = fc.tuple(fc.nat(), fc.constantFrom('same-type', 'any', 'remove', 'extra'), nastyString, nastyNumber, nastyDate, anyValue);
  return fc.array(edit, { minLength: 0, maxLength: 3 }).map((edits) => {
    let value: unknown = make();
    for (const [pick, how, str, num, date, other] of edits) {
      const paths = pathsOf(value);
      if (how === 'extra' || paths.length === 0) {
        if (value && typeof value === 'object' && !Array.isArray(value)) (value as Record<string, unknown>)[String(str).slice(0, 20) || 'extra'] = other;
        continue;
      }
      const path = paths[pick % paths.length];
      const current = path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
      const sameType = typeof current === 'number' ? num : typeof current === 'string' && /^\d{4}-\d\d-\d\d/.test(current) ? date : typeof current === 'string' ? str : other;
      value = setAt(value, path, how === 'same-type' ? sameType : other, how === 'remove');
    }
    return value;
  });
}

/** Query strings: each parameter valid (mostly), nasty, or left out. */
function query(params: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const entries = Object.entries(params).map(([name, valid]) =>
    fc.option(fc.oneof({ weight: 8, arbitrary: valid }, nastyString, nastyNumber, nastyDate), { nil: undefined }).map((v) => [name, v] as const));
  return fc.tuple(...entries).map((pairs) => {
    const q = new URLSearchParams();
    for (const [name, v] of pairs) {
      // An object of strings is several parameters (a period's from and to).
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) for (const [k, x] of Object.entries(v)) q.set(k, x as string);
      else if (v !== undefined) q.set(name, typeof v === 'string' ? v : JSON.stringify(v));
    }
    return q.size ? `?${q}` : '';
  });
}

// A lone surrogate cannot be percent-encoded as UTF-8: it goes out as the invalid bytes a broken client would send.
const encodeSegment = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, '\uFFFD')).replaceAll('%EF%BF%BD', '%ED%A0%80');
const idempotencyHeader = (key: string | undefined): Record<string, string> => (key ? { 'idempotency-key': key } : {});
const segment = (arb: fc.Arbitrary<unknown>) => arb.map((v) => encodeSegment(typeof v === 'string' ? v : JSON.stringify(v)));

// ---- the route families -----------------------------------------------------------------------

interface FuzzRequest {
  family: string;
  method: string;
  path: string;
  key?: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

function families(w: World): Record<string, fc.Arbitrary<Omit<FuzzRequest, 'family' | 'key'>>> {
  const { a, b } = w;
  const links = unsubscribeLinks(api.config);
  const unsubscribeToken = (customerId: string) => new URL(links.url(customerId)).searchParams.get('token')!;
  const pick = <T>(list: T[]) => fc.constantFrom(...(list.length ? list : [randomUUID() as T]));
  const id = (own: string[], others: string[]) => fc.oneof({ weight: 3, arbitrary: pick(own) }, pick(others), fc.uuid(), nastyString);
  const storeId = fc.oneof({ weight: 3, arbitrary: fc.constant(a.storeId) }, fc.constant(b.storeId), nastyString);
  const taskId = segment(id(a.taskIds, b.taskIds));
  const staffId = id(a.staffIds, b.staffIds);
  // Cursors (left out half the time): well formed, or naming far dates, or junk.
  const kpiCursor = fc.option(fc.oneof(
    fc.tuple(fc.oneof(validDay.map((day) => `${day}T00:00:00.000Z`), nastyDate), fc.uuid()).map(([at, u]) => Buffer.from(JSON.stringify([at, u])).toString('base64url')),
    nastyString,
  ), { nil: undefined, freq: 1 });
  const taskCursor = fc.option(fc.oneof(
    fc.tuple(fc.oneof(validDay.map((day) => `${day}T00:00:00.000Z`), nastyDate), fc.uuid()).map(([at, u]) => `${at}_${u}`),
    nastyString,
  ), { nil: undefined, freq: 1 });
  // A period is both bounds or neither; `to` after `from` mostly.
  const period = fc.option(fc.tuple(validDay, fc.integer({ min: -5, max: 120 })).map(([from, days]) => ({
    from, to: new Date(Date.parse(from) + days * 24 * 3600_000).toISOString().slice(0, 10),
  })), { nil: undefined, freq: 3 });
  const outcome = { reached: true, satisfied: true, csat: 5, nps: 9, promisesKept: true, note: '客户很满意', contactDataCorrect: false, correctedContact: { phone: '13912345678', email: 'li@example.com' } };
  const template = { purpose: 'service', body: '【{{storeName}}】{{customerName}}您好，首保提醒。', variables: ['storeName', 'customerName'] };
  const kpiKey = fc.oneof(fc.constantFrom('timeliness', 'satisfaction', 'csat', 'nps'), nastyString);

  return {
    'POST /v1/deliveries': mutated(() => validDelivery(a.storeId)).map((body) => ({ method: 'POST', path: '/v1/deliveries', body })),
    'GET /v1/deliveries/:id': segment(id(a.deliveryIds, b.deliveryIds)).map((d) => ({ method: 'GET', path: `/v1/deliveries/${d}` })),
    'GET /v1/tasks': query({ storeId, assigneeId: staffId, status: fc.constantFrom('open', 'closed', 'all'), due: fc.constantFrom('overdue', 'today', 'upcoming', 'any'), limit: fc.integer({ min: 1, max: 200 }), cursor: taskCursor })
      .map((q) => ({ method: 'GET', path: `/v1/tasks${q}` })),
    'GET /v1/tasks/:id': taskId.map((task) => ({ method: 'GET', path: `/v1/tasks/${task}` })),
    'POST /v1/tasks/:id/claim': fc.tuple(taskId, staffId).map(([task, staff]) => ({ method: 'POST', path: `/v1/tasks/${task}/claim`, headers: { 'x-staff-id': String(staff).replace(/[^\x20-\x7e]/g, '') } })),
    'POST /v1/tasks/:id/reassign': fc.tuple(taskId, mutated({ assigneeId: a.staffIds[0] })).map(([task, body]) => ({ method: 'POST', path: `/v1/tasks/${task}/reassign`, body })),
    'POST /v1/tasks/:id/reschedule': fc.tuple(taskId, mutated(() => ({ at: new Date(Date.now() + 3600_000).toISOString() })), fc.option(fc.uuid(), { nil: undefined }))
      .map(([task, body, idem]) => ({ method: 'POST', path: `/v1/tasks/${task}/reschedule`, body, headers: idempotencyHeader(idem) })),
    'POST /v1/tasks/:id/complete': fc.tuple(taskId, mutated(outcome), fc.option(fc.uuid(), { nil: undefined }))
      .map(([task, body, idem]) => ({ method: 'POST', path: `/v1/tasks/${task}/complete`, body, headers: idempotencyHeader(idem) })),
    'GET /v1/stores/:storeId/plan': segment(storeId).map((s) => ({ method: 'GET', path: `/v1/stores/${s}/plan` })),
    'PUT /v1/stores/:storeId/plan': fc.tuple(segment(storeId), mutated(DEFAULT_PLAN)).map(([s, body]) => ({ method: 'PUT', path: `/v1/stores/${s}/plan`, body })),
    'POST /v1/stores/:storeId/plan/preview': fc.tuple(segment(storeId), mutated({ deliveredAt: new Date().toISOString(), contactWindow: { start: '09:00', end: '20:00' } }))
      .map(([s, body]) => ({ method: 'POST', path: `/v1/stores/${s}/plan/preview`, body })),
    'POST /v1/stores': mutated(() => ({ id: `fz-${randomUUID().slice(0, 8)}`, name: '汇方汽车', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }))
      .map((body) => ({ method: 'POST', path: '/v1/stores', body })),
    'PUT /v1/stores/:storeId/staff/:externalId': fc.tuple(segment(storeId), segment(fc.oneof(fc.constantFrom('S-01', 'S-02'), nastyString)), mutated({ name: '周杰', role: 'supervisor', phone: '021 6279 8888', email: 'zhou@example.com', active: true }))
      .map(([s, e, body]) => ({ method: 'PUT', path: `/v1/stores/${s}/staff/${e}`, body })),
    'GET /v1/stores/:storeId/staff': segment(storeId).map((s) => ({ method: 'GET', path: `/v1/stores/${s}/staff` })),
    'POST /v1/api-keys': mutated({ name: 'fuzz', role: 'integration', storeId: a.storeId }).map((body) => ({ method: 'POST', path: '/v1/api-keys', body })),
    'GET /v1/messages': query({ storeId, transport: fc.constantFrom('twilio', 'smtp', 'outbox'), status: fc.constantFrom('sent', 'delivered'), deliveryId: id(a.deliveryIds, b.deliveryIds), limit: fc.integer({ min: 1, max: 500 }) })
      .map((q) => ({ method: 'GET', path: `/v1/messages${q}` })),
    'GET /v1/kpis': query({ storeId, staffId, period }).map((q) => ({ method: 'GET', path: `/v1/kpis${q}` })),
    'GET /v1/kpis/ranking': query({ storeId, metric: fc.constantFrom('timeliness', 'satisfaction'), period }).map((q) => ({ method: 'GET', path: `/v1/kpis/ranking${q}` })),
    'GET /v1/kpis/:key/rows': fc.tuple(segment(kpiKey), query({ storeId, staffId, period, cursor: kpiCursor, limit: fc.integer({ min: 1, max: 500 }) }))
      .map(([k, q]) => ({ method: 'GET', path: `/v1/kpis/${k}/rows${q}` })),
    'GET /v1/audit': query({
      storeId, entity: fc.oneof(fc.constantFrom('task', 'case', 'customer', 'store'), nastyString), entityId: id(a.taskIds, b.taskIds), actorId: staffId,
      from: fc.oneof(validDay.map((day) => `${day}T00:00:00.000Z`), nastyDate), limit: fc.integer({ min: 0, max: 300 }), cursor: fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 70n }).map(String), fc.bigInt({ min: 2n ** 63n - 3n, max: 10n ** 19n - 1n }).map(String), nastyString),
    }).map((q) => ({ method: 'GET', path: `/v1/audit${q}` })),
    'GET /v1/audits/:subject[/rows]': fc.tuple(fc.constantFrom('follow-ups', 'cases', 'follow-ups/rows', 'cases/rows'), query({
      storeId, period, by: fc.oneof(fc.constantFrom('staff', 'team', 'store'), nastyString), figure: fc.oneof(fc.constantFrom('late', 'missed', 'overdue', 'resolvedLate'), nastyString),
      groupId: fc.oneof(staffId, fc.constant('none')), cursor: taskCursor, limit: fc.integer({ min: 0, max: 600 }),
    })).map(([subject, q]) => ({ method: 'GET', path: `/v1/audits/${subject}${q}` })),
    'PATCH /v1/stores/:storeId/settings': fc.tuple(segment(storeId), mutated({ digestHour: 8, timeZone: 'Asia/Shanghai', paused: false, reclaimAfterDays: 30 }))
      .map(([s, body]) => ({ method: 'PATCH', path: `/v1/stores/${s}/settings`, body })),
    'PUT /v1/stores/:storeId/kpi-thresholds/:kpi': fc.tuple(segment(storeId), segment(kpiKey), mutated({ minimum: 85 }))
      .map(([s, k, body]) => ({ method: 'PUT', path: `/v1/stores/${s}/kpi-thresholds/${k}`, body })),
    'GET /v1/stores/:storeId/replacement-criteria': segment(storeId).map((s) => ({ method: 'GET', path: `/v1/stores/${s}/replacement-criteria` })),
    'PUT /v1/stores/:storeId/replacement-criteria': fc.tuple(segment(storeId), mutated({
      enabled: true, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: ['Model Y'], lastServiceWithinMonths: 24, minMileageKm: 50_000, callWindowDays: 7,
    })).map(([s, body]) => ({ method: 'PUT', path: `/v1/stores/${s}/replacement-criteria`, body })),
    'GET /v1/stores/:storeId/replacement-candidates': fc.tuple(segment(storeId), query({ status: fc.constantFrom('pending', 'passed', 'no_intent'), limit: fc.integer({ min: 0, max: 300 }) }))
      .map(([s, q]) => ({ method: 'GET', path: `/v1/stores/${s}/replacement-candidates${q}` })),
    'POST /v1/replacement-candidates/:id/decision': fc.tuple(segment(fc.oneof(fc.uuid(), nastyString)), mutated({ decision: 'no_intent', note: '客户暂无换购计划' }))
      .map(([c, body]) => ({ method: 'POST', path: `/v1/replacement-candidates/${c}/decision`, body })),
    'POST /v1/deliveries/:id/showroom-visits': fc.tuple(segment(id(a.deliveryIds, b.deliveryIds)), mutated(() => ({ visitedAt: new Date().toISOString() })))
      .map(([d, body]) => ({ method: 'POST', path: `/v1/deliveries/${d}/showroom-visits`, body })),
    // Six parameters, as for the tasks: with more, hardly a request is valid in every one.
    'GET /v1/cases': query({
      storeId, status: fc.constantFrom('open', 'resolved', 'closed', 'all'), assigneeId: staffId, overdue: fc.constantFrom('true', 'false'),
      limit: fc.integer({ min: 1, max: 200 }), cursor: fc.oneof(taskCursor, fc.uuid().map((u) => `_${u}`)),
    }).map((q) => ({ method: 'GET', path: `/v1/cases${q}` })),
    'GET /v1/cases/:id': segment(fc.oneof(fc.uuid(), nastyString)).map((c) => ({ method: 'GET', path: `/v1/cases/${c}` })),
    'POST /v1/cases': mutated(() => ({ deliveryId: a.deliveryIds[0], detail: '客户来电投诉：交车时未讲解功能' })).map((body) => ({ method: 'POST', path: '/v1/cases', body })),
    'POST /v1/cases/:id/<action>': fc.tuple(segment(fc.oneof(fc.uuid(), nastyString)), fc.constantFrom(
      ['acknowledge', { note: '已联系客户' }], ['notes', { note: '客户下午再来电' }], ['reassign', { assigneeId: a.staffIds[0], note: '转交' }],
      ['resolve', { rootCause: 'staff-attitude', confirmation: { channel: 'phone', at: new Date().toISOString() }, resolution: '已致歉并回访' }], ['reopen', { reason: '客户仍不满意' }],
    ).chain(([action, body]) => mutated(body).map((b) => [action, b] as const)), fc.option(fc.uuid(), { nil: undefined }))
      .map(([c, [action, body], idem]) => ({ method: 'POST', path: `/v1/cases/${c}/${action}`, body, headers: idempotencyHeader(idem) })),
    'POST /v1/auth/sign-in': mutated({ login: 'fz-nobody@example.com', password: 'not the password', session: 'bearer' }).map((body) => ({ method: 'POST', path: '/v1/auth/sign-in', body })),
    'POST /v1/staff-logins': mutated({ login: 'fz-login', staff: [{ storeId: a.storeId, externalId: 'S-01' }] }).map((body) => ({ method: 'POST', path: '/v1/staff-logins', body })),
    'POST /v1/staff-logins/:id/<action>': fc.tuple(segment(fc.oneof(fc.uuid(), nastyString)), fc.constantFrom('reset-password', 'deactivate'))
      .map(([l, action]) => ({ method: 'POST', path: `/v1/staff-logins/${l}/${action}` })),
    // Never a real staff member: their leaving would reassign the other families' tasks mid-run.
    'POST /v1/stores/:storeId/staff/:externalId/deactivate': fc.tuple(segment(storeId), segment(fc.oneof(fc.constant('S-404'), nastyString)))
      .map(([st, e]) => ({ method: 'POST', path: `/v1/stores/${st}/staff/${e}/deactivate` })),
    'GET /v1/customers/:id/consents': segment(id(a.customerIds, b.customerIds)).map((c) => ({ method: 'GET', path: `/v1/customers/${c}/consents` })),
    'PUT /v1/customers/:id/consents': fc.tuple(segment(id(a.customerIds, b.customerIds)), mutated({ consents: [{ channel: 'sms', purpose: 'marketing', granted: true }] }))
      .map(([c, body]) => ({ method: 'PUT', path: `/v1/customers/${c}/consents`, body })),
    [`GET|POST ${UNSUBSCRIBE_PATH}`]: fc.tuple(fc.constantFrom('GET', 'POST'), query({ token: fc.oneof(pick(a.customerIds).map(unsubscribeToken), pick(a.customerIds).map((c) => `${unsubscribeToken(c)}x`)) }))
      .map(([method, q]) => ({ method, path: `${UNSUBSCRIBE_PATH}${q}` })),
    'GET /v1/stores/:storeId/templates': segment(storeId).map((s) => ({ method: 'GET', path: `/v1/stores/${s}/templates` })),
    'PUT /v1/stores/:storeId/templates/:key/:locale/:channel': fc.tuple(segment(storeId), segment(fc.oneof(fc.constant('first-service'), nastyString)),
      segment(fc.constantFrom('zh-CN', 'en', 'fr', '')), segment(fc.constantFrom('sms', 'email', 'fax')), mutated(template))
      .map(([s, k, l, c, body]) => ({ method: 'PUT', path: `/v1/stores/${s}/templates/${k}/${l}/${c}`, body })),
    // Signed as Twilio signs (mostly), so that the bodies reach the handlers.
    'POST /v1/webhooks/twilio/*': fc.tuple(fc.constantFrom(TWILIO_STATUS_PATH, TWILIO_INBOUND_PATH), fc.uuid().map((u) => u.replace(/-/g, '')), fc.constantFrom('delivered', 'failed', 'undelivered'),
      fc.constantFrom('好的，谢谢', '5', 'T', '不满意'), fc.boolean())
      .chain(([path, sid, status, text, signed]) => mutated({ MessageSid: `SM${sid}`, MessageStatus: status, From: '+8613812345678', To: '+15005550006', Body: text }).map((raw) => {
        const form = Object.fromEntries(Object.entries(raw && typeof raw === 'object' ? raw : {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? '']));
        return { method: 'POST', path, form, headers: { 'x-twilio-signature': signed ? twilioSignature(`${PUBLIC_BASE_URL}${path}`, form) : 'forged' } };
      })),
    'POST /v1/webhooks/email/bounce': mutated({ messageId: randomUUID(), providerId: '<abc@mail.example>', type: 'hard', diagnostic: '550 5.1.1 user unknown' })
      .map((body) => ({ method: 'POST', path: '/v1/webhooks/email/bounce', body })),
  };
}

// ---- the run ----------------------------------------------------------------------------------

interface Finding {
  request: FuzzRequest;
  problem: string;
}

/** What a good answer looks like: below 500, a 4xx with the error body, and no other store's records for a store's key. */
function problemWith(request: FuzzRequest, res: { status: number; contentType: string; text: string }): string | null {
  if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
  const json = res.contentType.includes('application/json');
  if (res.status >= 400) {
    if (!json) return `a ${res.status} without a JSON error body`;
    const body = JSON.parse(res.text) as { error?: unknown; message?: unknown };
    if (typeof body.error !== 'string' || typeof body.message !== 'string') return `a ${res.status} without error and message`;
    return null;
  }
  if (json) JSON.parse(res.text);
  if (request.key === world.keys.aAdmin || request.key === world.keys.aIntegration) {
    const other = [world.b.storeId, ...world.b.deliveryIds, ...world.b.taskIds, ...world.b.customerIds].find((v) => res.text.includes(`"${v}"`));
    if (other) return `a store-A key was shown store B's ${other}`;
  }
  return null;
}

async function run(request: FuzzRequest): Promise<{ status: number | 'timeout' | 'error'; problem: string | null }> {
  try {
    const res = await send(request.method, request.path, request);
    return { status: res.status, problem: problemWith(request, res) };
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    return { status: timedOut ? 'timeout' : 'error', problem: timedOut ? `no answer within ${REQUEST_DEADLINE_MS} ms` : `request failed: ${String(err)}` };
  }
}

it('answers every fuzzed request of every route family below 500, well formed, within its deadline', async () => {
  const keys = fc.oneof(
    { weight: 6, arbitrary: fc.constant(world.keys.groupAdmin) },
    { weight: 2, arbitrary: fc.constant(world.keys.aAdmin) },
    { weight: 2, arbitrary: fc.constant(world.keys.aIntegration) },
    fc.constant(world.keys.bAdmin), fc.constant(undefined), fc.constant('hf_not-a-key'),
  );
  const requests: FuzzRequest[] = Object.entries(families(world)).flatMap(([family, arb], i) =>
    fc.sample(fc.tuple(arb, keys), { numRuns: RUNS_PER_FAMILY, seed: SEED + i }).map(([r, key]) => ({ ...r, family, key })));
  // Shuffled so that families interleave, as concurrent clients do.
  const order = fc.sample(fc.shuffledSubarray(requests.map((_, i) => i), { minLength: requests.length }), { numRuns: 1, seed: SEED })[0];

  const statuses = new Map<string, Map<number | string, number>>();
  const count = (family: string, status: number | string) => {
    const counts = statuses.get(family) ?? new Map<number | string, number>();
    counts.set(status, (counts.get(status) ?? 0) + 1);
    statuses.set(family, counts);
  };
  const findings: Finding[] = [];
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < order.length && Date.now() - started < RUN_BUDGET_MS) {
      const request = requests[order[next++]];
      const { status, problem } = await run(request);
      if (problem) findings.push({ request, problem });
      count(request.family, status);
    }
  }));
  // Races the issue found: ten deliveries naming one new consultant, ten syncs of one new staff member.
  const consultant = { externalId: `S-${randomUUID().slice(0, 6)}`, name: '新顾问' };
  const races: FuzzRequest[] = [
    ...Array.from({ length: 10 }, () => ({ family: 'race: 10 deliveries, one new consultant', method: 'POST', path: '/v1/deliveries', key: world.keys.groupAdmin, body: { ...validDelivery(world.a.storeId), consultant } })),
    ...Array.from({ length: 10 }, () => ({ family: 'race: 10 syncs of one new staff member', method: 'PUT', path: `/v1/stores/${world.a.storeId}/staff/${consultant.externalId}x`, key: world.keys.groupAdmin, body: { name: '周杰', role: 'supervisor' } })),
  ];
  // Unlike the fuzz, every one of these is valid and must succeed.
  await Promise.all(races.map(async (request) => {
    const { status, problem } = await run(request);
    const failed = problem ?? (typeof status === 'number' && status >= 300 ? `answered ${status}` : null);
    if (failed) findings.push({ request, problem: failed });
    count(request.family, status);
  }));

  const total = [...statuses.values()].reduce((sum, m) => sum + [...m.values()].reduce((s, n) => s + n, 0), 0);
  const histogram = new Map<number | string, number>();
  for (const m of statuses.values()) for (const [status, n] of m) histogram.set(status, (histogram.get(status) ?? 0) + n);
  const lines = [...statuses].map(([family, m]) => `  ${family.padEnd(58)} ${[...m].sort().map(([s, n]) => `${s}:${n}`).join(' ')}`);
  process.stdout.write([
    `API fuzz (FUZZ_SEED=${SEED}): ${total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s${next < order.length ? ` (time budget spent: ${order.length - next} not sent)` : ''}, ${findings.length} findings`,
    `  statuses: ${[...histogram].sort().map(([s, n]) => `${s}:${n}`).join(' ')}`,
    ...lines,
    ...findings.slice(0, 40).map((f) => `  FINDING ${f.request.family}: ${f.problem}\n    ${f.request.method} ${f.request.path} ${JSON.stringify(f.request.body ?? f.request.form ?? '').slice(0, 400)}`),
    '',
  ].join('\n'));

  expect(findings.map((f) => `${f.request.family}: ${f.problem.slice(0, 120)}`)).toEqual([]);
});
