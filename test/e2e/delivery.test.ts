import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { vinCheckDigit } from '../../src/domain/vin';
import type { Stack } from '../../src/stack';
import { api, eventually, seedStore, startTestStack } from '../helpers/stack';

/**
 * The foundation end to end: the real stack (PostgreSQL, Temporal dev server, MailDev, worker,
 * API) driven over HTTP, then restarted on the same data folder.
 */
jest.setTimeout(180_000);

function vin(serial: string): string {
  const draft = `LSVAU2180N2${serial.padStart(6, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

const delivery = (overrides: Record<string, unknown> = {}) => ({
  storeId: 'e2e',
  deliveredAt: new Date().toISOString(),
  customer: {
    externalId: 'C-1001', name: '张伟', phone: '13812345678', email: 'zhang.wei@example.com',
    // Any hour: the test must not depend on when it runs (service messages respect this window).
    contactWindow: { start: '00:00', end: '23:59' },
  },
  vehicle: { vin: vin('83294'), model: '帕萨特 Passat' },
  consultant: { externalId: 'S-01', name: '李娜', phone: '13900001111' },
  ...overrides,
});

describe('a delivery posted to the running product', () => {
  let stack: Stack;
  let key: string;
  let deliveryId: string;

  beforeAll(async () => {
    stack = await startTestStack();
    ({ key } = await seedStore(stack, 'e2e'));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('starts one ownership workflow and records the at-delivery thank-you', async () => {
    const res = await api(stack, key).post('/v1/deliveries', delivery());
    expect(res.status).toBe(201);
    deliveryId = res.body.id;
    expect(res.body.workflowId).toBe(`vehicle-e2e-${vin('83294')}`);

    const thankYou = await eventually('the thank-you SMS to be recorded', async () => {
      const got = await api(stack, key).get(`/v1/deliveries/${deliveryId}`);
      return got.body.messages.find((m: { templateKey: string; channel: string; status: string }) =>
        m.templateKey === 'delivery-thank-you' && m.channel === 'sms' && m.status === 'sent');
    });
    expect(thankYou.transport).toBe('outbox');
    expect(thankYou.body).toContain('张伟');

    const outbox = await api(stack, key).get('/v1/messages?transport=outbox&storeId=e2e');
    expect(outbox.status).toBe(200);
    expect(outbox.body.map((m: { id: string }) => m.id)).toContain(thankYou.id);
    expect(outbox.body.find((m: { id: string }) => m.id === thankYou.id).to).toBe('+8613812345678');
  });

  it('answers a repeated post with the existing delivery and starts no second workflow', async () => {
    const again = await api(stack, key).post('/v1/deliveries', delivery({ deliveredAt: undefined, ...{} }));
    expect(again.status).toBe(400); // deliveredAt is required: a post without it is not "the same delivery"

    const first = await api(stack, key).get(`/v1/deliveries/${deliveryId}`);
    const repeat = await api(stack, key).post('/v1/deliveries', delivery({ deliveredAt: first.body.deliveredAt }));
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(deliveryId);

    const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
    try {
      const client = new Client({ connection });
      const runs = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${first.body.workflowId}'` })) runs.push(wf.runId);
      expect(runs).toHaveLength(1);
      // Operators find a store's and a delivery's workflows by ID-only search attributes.
      const byDelivery = [];
      for await (const wf of client.workflow.list({ query: `HuifangStoreId = 'e2e' AND HuifangDeliveryId = '${deliveryId}'` })) byDelivery.push(wf.workflowId);
      expect(byDelivery).toEqual([first.body.workflowId]);
    } finally {
      await connection.close();
    }

    const other = await api(stack, key).post('/v1/deliveries', delivery({ deliveredAt: new Date(Date.now() - 3_600_000).toISOString() }));
    expect(other.status).toBe(409);
    expect(other.body.message).toMatch(/active ownership/);
  });

  it('rejects bad input with a 400 naming each field, and unknown stores and missing keys too', async () => {
    const client = api(stack, key);
    const missing = await client.post('/v1/deliveries', { storeId: 'e2e', vehicle: { model: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.issues.map((i: { field: string }) => i.field)).toEqual(
      expect.arrayContaining(['deliveredAt', 'customer', 'vehicle.vin', 'consultant']));

    const malformed = await client.post('/v1/deliveries', delivery({
      customer: { externalId: 'C-2', name: '王芳', phone: '12345' },
      vehicle: { vin: 'LSVAU2180N2183290', model: 'x' },
    }));
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues).toEqual(expect.arrayContaining([
      { field: 'customer.phone', message: expect.stringMatching(/not a valid \+86 number/) },
      { field: 'vehicle.vin', message: expect.stringMatching(/check digit/) },
    ]));

    const unknownStore = await client.post('/v1/deliveries', delivery({ storeId: 'no-such-store' }));
    expect(unknownStore.status).toBe(400);
    expect(unknownStore.body.issues).toEqual([{ field: 'storeId', message: 'unknown store no-such-store' }]);

    const unauthenticated = await fetch(`${stack.apiUrl}/v1/deliveries/${deliveryId}`);
    expect(unauthenticated.status).toBe(401);
  });

  it('serves its OpenAPI document and docs page without a key', async () => {
    const doc = await (await fetch(`${stack.apiUrl}/openapi.json`)).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/deliveries', '/v1/deliveries/{id}', '/v1/tasks']));
    expect((await fetch(`${stack.apiUrl}/docs`)).status).toBe(200);
  });

  it('keeps the data across a restart on the same data folder', async () => {
    const before = await api(stack, key).get(`/v1/deliveries/${deliveryId}`);
    await stack.stop();
    stack = await startTestStack({ dataDir: stack.env.DATA_DIR });
    const after = await api(stack, key).get(`/v1/deliveries/${deliveryId}`);
    expect(after.status).toBe(200);
    expect(after.body.messages.map((m: { id: string }) => m.id)).toEqual(before.body.messages.map((m: { id: string }) => m.id));
    // The workflow survived too: the dev server keeps its state in the SQLite file.
    expect(after.body.workflow?.phase).toBe('post-delivery');
    const log = readFileSync(path.join(stack.env.DATA_DIR!, 'stack.log'), 'utf8');
    expect(log).not.toMatch(/13812345678|zhang\.wei@example\.com|张伟/);
  });
});
