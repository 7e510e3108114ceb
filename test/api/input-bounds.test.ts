import type { Db } from '../../src/db/client';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, recordingTemporal, seedStore } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let storeId: string;
let admin: string;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  api = await buildApi(db, recordingTemporal().client);
  storeId = (await seedStore(db)).store.id;
  admin = await adminKey(db);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const as = { authorization: '' };
beforeAll(() => {
  as.authorization = `Bearer ${admin}`;
});

/** The fields a 400 names, e.g. ['serviceHotline']. */
async function refused(method: string, path: string, body?: object): Promise<string[]> {
  const res = await api.request(method, path, { headers: as, body });
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({ status: 400, body: { error: 'ValidationError' } });
  return res.json().issues.map((i: { field: string }) => i.field);
}

const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

describe('stores and staff', () => {
  const store = (overrides: object) => ({ id: `s-${Math.random().toString(36).slice(2, 8)}`, name: '汇方汽车虹桥店', serviceHotline: '400-800-1234', ...overrides });

  it('a store needs a service hotline that can be called: the farewell SMS and the HELP reply give it', async () => {
    const { serviceHotline: _left, ...withoutHotline } = store({});
    expect(await refused('POST', '/v1/stores', withoutHotline)).toEqual(['serviceHotline']);
    expect(await refused('POST', '/v1/stores', store({ serviceHotline: '12345' }))).toEqual(['serviceHotline']);
    const created = await api.request('POST', '/v1/stores', { headers: as, body: store({ serviceHotline: '021-6279 8888' }) });
    expect(created.statusCode).toBe(201);
  });

  it.each([
    ['NUL', '汇方\u0000汽车'],
    ['only zero-width characters', '\u200B\u200D'],
    ['a right-to-left override', '汇方\u202E车汽'],
  ])('a store name with %s is a 400 naming it, and no store is created', async (_what, name) => {
    const body = store({ name });
    expect(await refused('POST', '/v1/stores', body)).toEqual(['name']);
    expect(await db.store.findUnique({ where: { id: body.id } })).toBeNull();
  });

  it('a staff phone must be a real number (a desk phone will do); a 10-digit mobile is a 400', async () => {
    expect(await refused('PUT', `/v1/stores/${storeId}/staff/S-9`, { name: '周杰', role: 'supervisor', phone: '+86 138 1234 567' })).toEqual(['phone']);
    expect(await refused('PUT', `/v1/stores/${storeId}/staff/S-9`, { name: '周杰', role: 'supervisor', phone: '+86 0138 1234 5678' })).toEqual(['phone']);
    const ok = await api.request('PUT', `/v1/stores/${storeId}/staff/S-9`, { headers: as, body: { name: '周杰', role: 'supervisor', phone: '021 6279 8888' } });
    expect(ok.statusCode).toBe(200);
    expect((await db.staff.findFirstOrThrow({ where: { storeId, externalId: 'S-9' } })).phone).toBe('+862162798888');
  });

  it('a staff ID or store ID with NUL is a 400 naming the parameter', async () => {
    expect(await refused('PUT', `/v1/stores/${storeId}/staff/S%00-1`, { name: '周杰', role: 'supervisor' })).toEqual(['params.externalId']);
    expect(await refused('GET', '/v1/stores/x%00y/staff')).toEqual(['params.storeId']);
  });

  it('an API key for the empty store ID is a 400 naming storeId', async () => {
    expect(await refused('POST', '/v1/api-keys', { name: 'dms', role: 'integration', storeId: '' })).toEqual(['storeId']);
  });
});

describe('contact plans', () => {
  const planWith = (index: number, edit: (step: Record<string, any>) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const steps = structuredClone(DEFAULT_PLAN.steps) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    edit(steps[index]);
    return { steps };
  };

  it.each([
    ['a message a million years after delivery', planWith(0, (s) => (s.timing.minutes = 1e12)), 'steps.0.timing.minutes'],
    ['a call on day 3,000,000', planWith(3, (s) => (s.timing.toDay = 3_000_000)), 'steps.3.timing.toDay'],
    ['a retry after a year', planWith(3, (s) => (s.attempts = { max: 3, retryAfterMinutes: 525_600 })), 'steps.3.attempts.retryAfterMinutes'],
    ['NUL in a checklist point', planWith(4, (s) => (s.checklist[1] = '确认\u0000承诺')), 'steps.4.checklist.1'],
    ['an escape character in a title', planWith(1, (s) => (s.title = '\u001B[2J送别短信')), 'steps.1.title'],
  ])('%s is a 400 naming the field, and the store keeps its plan', async (_what, plan, field) => {
    const before = (await api.request('GET', `/v1/stores/${storeId}/plan`, { headers: as })).json();

    expect(await refused('PUT', `/v1/stores/${storeId}/plan`, plan)).toEqual([field]);

    const after = (await api.request('GET', `/v1/stores/${storeId}/plan`, { headers: as })).json();
    expect(after).toEqual(before);
  });

  it('a preview for a delivery in year 9999 is a 400 naming deliveredAt', async () => {
    expect(await refused('POST', `/v1/stores/${storeId}/plan/preview`, { deliveredAt: '9999-12-31T00:00:00Z' })).toEqual(['deliveredAt']);
  });
});

describe('KPIs, messages and templates', () => {
  it.each([
    ['/v1/kpis?from=0000-01-01&to=2026-01-01', 'querystring.from'],
    ['/v1/kpis/ranking?metric=timeliness&storeId=a%00b', 'querystring.storeId'],
    [`/v1/kpis/csat/rows?cursor=${encodeCursor('0000-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000')}`, 'querystring.cursor'],
    ['/v1/messages?status=sent%00', 'querystring.status'],
    ['/v1/messages?storeId=%00', 'querystring.storeId'],
  ])('GET %s is a 400 naming %s', async (path, field) => {
    expect(await refused('GET', path)).toEqual([field]);
  });

  it('a template body with NUL is a 400 naming body', async () => {
    const body = { purpose: 'service', body: 'Hi {{customerName}}\u0000', variables: ['customerName'] };
    expect(await refused('PUT', `/v1/stores/${storeId}/templates/first-service/en/sms`, body)).toEqual(['body']);
  });
});

describe('the OpenAPI document', () => {
  it('declares a 400 for every operation and a 401 for every one that needs a key', async () => {
    const doc = (await api.request('GET', '/openapi.json')).json();
    const missing: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
        for (const status of isPublic ? ['400'] : ['400', '401']) {
          if (!operation.responses[status]) missing.push(`${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
    expect(Object.keys(doc.paths).length).toBeGreaterThan(15);
    expect(missing).toEqual([]);
  });
});
