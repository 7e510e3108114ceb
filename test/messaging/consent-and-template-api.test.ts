import { createApiKey } from '../../src/services/stores';
import type { Db } from '../../src/db/client';
import { DEFAULT_TEMPLATES } from '../../src/domain/templates';
import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, recordingTemporal, seedCustomer, seedStore, type SentSignal } from './fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let signals: SentSignal[];
let storeId: string;
let admin: string;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  const temporal = recordingTemporal();
  signals = temporal.signals;
  api = await buildApi(db, temporal.client);
  storeId = (await seedStore(db)).store.id;
  admin = await adminKey(db);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('consents API', () => {
  it('shows the defaults: service allowed, marketing not until the customer says yes', async () => {
    const { customerId } = await seedCustomer(db, storeId);

    const res = await api.request('GET', `/v1/customers/${customerId}/consents`, { headers: as(admin) });

    expect(res.statusCode).toBe(200);
    expect(res.json().consents).toEqual([
      { channel: 'sms', purpose: 'service', granted: true, source: 'default', updatedAt: null },
      { channel: 'sms', purpose: 'marketing', granted: false, source: 'default', updatedAt: null },
      { channel: 'email', purpose: 'service', granted: true, source: 'default', updatedAt: null },
      { channel: 'email', purpose: 'marketing', granted: false, source: 'default', updatedAt: null },
    ]);
  });

  it('records a change with the key that made it, and tells the running workflow', async () => {
    const { customerId, workflowId } = await seedCustomer(db, storeId);
    const key = await createApiKey(db, { name: 'dms', role: 'integration', storeId });

    const res = await api.request('PUT', `/v1/customers/${customerId}/consents`, {
      headers: as(key.key), body: { consents: [{ channel: 'sms', purpose: 'marketing', granted: true }] },
    });

    expect(res.statusCode).toBe(200);
    expect(res.json().consents[1]).toMatchObject({ channel: 'sms', purpose: 'marketing', granted: true, source: `api-key:${key.id}` });
    expect(signals).toContainEqual({ workflowId, name: 'consentChanged', arg: { channel: 'sms', purpose: 'marketing', granted: true } });
  });

  it('refuses the same channel and purpose twice, and another store\'s customer', async () => {
    const { customerId } = await seedCustomer(db, storeId);
    const twice = await api.request('PUT', `/v1/customers/${customerId}/consents`, {
      headers: as(admin), body: { consents: [{ channel: 'sms', purpose: 'service', granted: true }, { channel: 'sms', purpose: 'service', granted: false }] },
    });
    const otherStore = (await seedStore(db)).store.id;
    const foreign = await api.request('GET', `/v1/customers/${customerId}/consents`, { headers: as(await adminKey(db, otherStore)) });

    expect(twice.statusCode).toBe(400);
    expect(foreign.statusCode).toBe(404);
  });
});

describe('templates API', () => {
  const put = (key: string, locale: string, channel: string, body: object, apiKey = admin) =>
    api.request('PUT', `/v1/stores/${storeId}/templates/${key}/${locale}/${channel}`, { headers: as(apiKey), body });

  it('saves a store template and reports the rendered sample\'s SMS length, encoding and segments', async () => {
    const res = await put('service-reminder', 'en', 'sms', {
      purpose: 'service', body: 'Hi {{customerName}}, your {{vehicleModel}} is due for its first service. {{storeName}}', variables: ['customerName', 'vehicleModel', 'storeName'],
    });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      key: 'service-reminder', locale: 'en', channel: 'sms', source: 'store', version: 1, warnings: [],
      sample: { body: 'Hi Ms Wang, your Model Y is due for its first service. Huifang Motors Pudong', sms: { encoding: 'GSM-7', segments: 1, characters: 76 } },
    });
  });

  it('counts a marketing SMS with its opt-out hint, and a long Chinese one in UCS-2 segments', async () => {
    const res = await put('spring-offer', 'zh-CN', 'sms', {
      purpose: 'marketing', body: `【{{storeName}}】${'春季保养八折优惠进行中，'.repeat(6)}`, variables: ['storeName'],
    });

    const sample = res.json().sample;
    expect(sample.body).toMatch(/ 回T退订$/);
    expect(sample.sms).toEqual({ encoding: 'UCS-2', characters: sample.body.length, segments: 2 });
  });

  it('bumps the version on every save', async () => {
    const body = { purpose: 'service', body: '{{storeName}} 提醒您', variables: ['storeName'] };
    await put('bump', 'zh-CN', 'sms', body);
    expect((await put('bump', 'zh-CN', 'sms', body)).json().version).toBe(2);
  });

  it.each([
    ['a placeholder that is not declared', { purpose: 'service', body: 'Hi {{customerName}} {{plate}}', variables: ['customerName'] }, 'body', /\{\{plate\}\} is not declared/],
    ['a variable nothing provides', { purpose: 'service', body: 'Hi {{plate}}', variables: ['plate'] }, 'variables.0', /no value is provided for plate/],
    ['an SMS with a subject', { purpose: 'service', subject: 'x', body: 'Hi', variables: [] }, 'subject', /SMS template has no subject/],
    ['a malformed placeholder', { purpose: 'service', body: 'Hi {{customer name}}', variables: [] }, 'body', /malformed placeholder/],
    ['a blank sample value', { purpose: 'service', body: 'Hi {{customerName}}', variables: ['customerName'], sample: { customerName: ' ' } }, 'sample.customerName', /blank/],
  ])('refuses %s with a 400 naming the field', async (_name, body, field, message) => {
    const res = await put('bad', 'en', 'sms', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it('requires a subject for email, and checks the HTML too', async () => {
    const res = await put('mail', 'en', 'email', { purpose: 'service', body: 'Hi', html: '<p>{{vin}}</p>', variables: [] });
    expect(res.json().issues.map((i: { field: string }) => i.field).sort()).toEqual(['html', 'subject']);
  });

  it('lets only an admin key save', async () => {
    const integration = await createApiKey(db, { name: 'dms', role: 'integration', storeId });
    expect((await put('x', 'en', 'sms', { purpose: 'service', body: 'Hi', variables: [] }, integration.key)).statusCode).toBe(403);
  });

  it('lists the store\'s own templates with the built-in ones it has not replaced', async () => {
    await put('delivery-thank-you', 'zh-CN', 'sms', { purpose: 'service', body: '【{{storeName}}】感谢您提车', variables: ['storeName'] });

    const list = (await api.request('GET', `/v1/stores/${storeId}/templates`, { headers: as(admin) })).json() as { key: string; locale: string; channel: string; source: string }[];

    const thankYouSms = list.filter((t) => t.key === 'delivery-thank-you' && t.channel === 'sms');
    expect(thankYouSms.map((t) => [t.locale, t.source]).sort()).toEqual([['en', 'built-in'], ['zh-CN', 'store']]);
    // Every built-in template but the one the store replaced.
    expect(list.filter((t) => t.source === 'built-in').length).toBe(DEFAULT_TEMPLATES.length - 1);
    expect(list.some((t) => t.key === 'service-reminder' && t.source === 'store')).toBe(true);
  });
});
