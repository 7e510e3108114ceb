import { Client, Connection } from '@temporalio/client';
import { createDb, type Db } from '../../src/db/client';
import { vinCheckDigit } from '../../src/domain/vin';
import type { Stack } from '../../src/stack';
import { api, eventually, seedStore, startTestStack } from '../helpers/stack';

/**
 * The real stack loses its Temporal server while the DMS posts a delivery: the post answers 503
 * in time, the delivery is recorded with its start pending (never a row that nothing will start),
 * and once the server is back the API's reconciler starts the workflow, which sends the thank-you.
 */
jest.setTimeout(240_000);

const REQUEST_TIMEOUT_MS = 3_000;

let stack: Stack;
let key: string;
let db: Db;

beforeAll(async () => {
  stack = await startTestStack({ env: { TEMPORAL_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
  ({ key } = await seedStore(stack, 'outage'));
  db = createDb(stack.env.DATABASE_URL!, 2);
});

afterAll(async () => {
  await db?.$disconnect();
  await stack?.stop();
});

function vin(serial: string): string {
  const draft = `LSVAU2180N2${serial.padStart(6, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

const delivery = {
  storeId: 'outage',
  deliveredAt: new Date().toISOString(),
  customer: { externalId: 'C-503', name: '陈静', phone: '13812340503', contactWindow: { start: '00:00', end: '23:59' } },
  vehicle: { vin: vin('50301'), model: '凯美瑞' },
  consultant: { externalId: 'S-503', name: '赵强' },
};

it('a delivery posted while Temporal is down is recorded, not half-written, and its workflow runs once Temporal is back', async () => {
  const temporal = stack.services.find((s) => s.name === 'temporal')!;
  await stack.stopService(temporal);

  const started = Date.now();
  const refused = await api(stack, key).post('/v1/deliveries', delivery);
  expect(refused.status).toBe(503);
  expect(refused.body).toMatchObject({ error: 'ServiceUnavailable', dependency: 'temporal' });
  expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS + 5_000);

  const pending = await db.delivery.findFirstOrThrow({ where: { storeId: 'outage', vehicle: { vin: delivery.vehicle.vin } } });
  expect(pending.workflowStartedAt).toBeNull();
  expect((await fetch(`${stack.apiUrl}/health/ready`)).status).toBe(503);

  await stack.startTemporal();
  // Nobody posts again: the API's reconciler starts it, and the worker runs it.
  const thankYou = await eventually('the thank-you SMS of the delivery posted during the outage', async () =>
    (await db.message.findFirst({ where: { deliveryId: pending.id, templateKey: 'delivery-thank-you', status: 'sent' } })) ?? undefined, 120_000);
  expect(thankYou.transport).toBe('outbox');
  expect((await db.delivery.findUniqueOrThrow({ where: { id: pending.id } })).workflowStartedAt).not.toBeNull();

  // The DMS posting the same delivery again gets it back, and no second workflow starts.
  const again = await api(stack, key).post('/v1/deliveries', delivery);
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(pending.id);
  const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
  try {
    const runs = [];
    for await (const wf of new Client({ connection }).workflow.list({ query: `WorkflowId = '${pending.workflowId}'` })) runs.push(wf.runId);
    expect(runs).toHaveLength(1);
  } finally {
    await connection.close();
  }
});
