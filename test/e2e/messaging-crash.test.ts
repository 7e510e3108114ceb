import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createApiKey, createStore } from '../../src/services/stores';
import { vinCheckDigit } from '../../src/domain/vin';
import { freePort, Stack } from '../../src/stack';
import type { LifecycleState } from '../../src/domain/lifecycle';
import { createTestDatabase } from '../helpers/db';
import { startTwilioMock, type TwilioMock } from '../helpers/twilio-mock';
import { ACCOUNT_SID, AUTH_TOKEN, form, twilioSignature, zoneWhereItIsNoon } from '../messaging/fixtures';

/**
 * The whole product as it runs (embedded PostgreSQL database, Temporal dev server, API and worker
 * processes) with SMS going to the Twilio mock. The worker is killed between Twilio accepting the
 * thank-you SMS and the worker recording it; the customer must still get one SMS, not two.
 */
jest.setTimeout(300_000);

let mock: TwilioMock;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let stack: Stack;
let temporal: Client;
let dataDir: string;
let apiKey: string;
const storeId = 'crash-test';

function validVin(serial: number): string {
  const draft = `LSVAU218X${String(serial).padStart(8, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  [mock, db] = await Promise.all([startTwilioMock(), createTestDatabase({ migrate: false })]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-e2e-'));
  const [temporalPort, temporalUi, smtp, smtpWeb, api] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  stack = new Stack({
    dataDir,
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      TEMPORAL_TASK_QUEUE: `crash-${randomUUID()}`,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_BASE_URL: mock.baseUrl,
      // No mail in this test: an address nothing listens on keeps MailDev from starting.
      SMTP_URL: `smtp://127.0.0.1:${smtp}`,
    },
    ports: { postgres: 0, temporal: temporalPort, temporalUi, smtp, smtpWeb, api },
    headless: true,
    output: { file: path.join(dataDir, 'stack.log') },
    skip: ['worker'],
  });
  await stack.start();
  await createStore(db.db, { id: storeId, name: '汇方汽车崩溃测试店', timeZone: zoneWhereItIsNoon(), serviceHotline: '400-800-1234' }, 'test');
  apiKey = (await createApiKey(db.db, { name: 'e2e', role: 'admin', storeId: null })).key;
  const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS! });
  temporal = new Client({ connection });
});

afterAll(async () => {
  await temporal?.connection.close();
  await stack?.stop();
  await mock?.stop();
  await db?.drop();
  if (process.env.KEEP_E2E_LOGS) process.stdout.write(readFileSync(path.join(dataDir, 'stack.log'), 'utf8'));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a worker crash while Twilio accepts the SMS', () => {
  let workflowId: string;
  let phone: string;

  it('ends with one SMS at the customer and one Message row with its SID', async () => {
    const worker = await stack.startWorker();
    // Twilio takes the message at once but answers only after the worker is gone.
    mock.delayNextAnswer(30_000);
    phone = `+86139${String(Date.now()).slice(-8)}`;
    const res = await fetch(`${stack.apiUrl}/v1/deliveries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        storeId, deliveredAt: new Date().toISOString(),
        customer: { externalId: 'C-1', name: '王女士', phone },
        vehicle: { vin: validVin(1), model: 'Model Y' },
        consultant: { externalId: 'S-1', name: '李明', phone: '+8613900001111' },
      }),
    });
    expect(res.status).toBe(201);
    workflowId = ((await res.json()) as { workflowId: string }).workflowId;

    await mock.waitForDelivered(1, 60_000);
    await stack.stopService(worker, 'SIGKILL');
    const inFlight = await db.db.message.findMany();
    expect(inFlight).toEqual([expect.objectContaining({ status: 'sending', providerId: null })]);

    await stack.startWorker();
    // Temporal retries the attempt once its start-to-close timeout (30 s) has passed.
    const [message] = await eventually('the thank-you SMS', () => db.db.message.findMany(), (rows) => rows[0]?.status === 'sent', 150_000);

    expect(mock.delivered()).toBe(1);
    expect(message?.providerId).toBe(mock.accepted()[0]?.sid);
    expect(await db.db.message.count()).toBe(1);
    const creates = mock.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Messages.json'));
    const lookups = mock.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/Messages.json'));
    expect(creates).toHaveLength(1);
    expect(lookups.length).toBeGreaterThanOrEqual(1);
    const state = await eventually('the workflow step', () => temporal.workflow.getHandle(workflowId).query<LifecycleState>('state'),
      (s) => s.steps.find((step) => step.key === 'delivery-thank-you')?.status === 'sent', 30_000);
    expect(state.steps.find((step) => step.key === 'delivery-thank-you')?.messageId).toBe(message?.id);
  });

  it('lets the customer opt out by SMS, and the running workflow hears of it', async () => {
    const publicUrl = `${stack.apiUrl}/v1/webhooks/twilio/inbound`;
    const params = { MessageSid: `SM${randomUUID().replace(/-/g, '')}`, AccountSid: ACCOUNT_SID, From: phone, To: '+15005550006', Body: '退订' };

    const res = await fetch(publicUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(publicUrl, params) },
      body: form(params),
    });

    expect(res.status).toBe(200);
    const state = await eventually('the workflow', () => temporal.workflow.getHandle(workflowId).query<LifecycleState>('state'), (s) => s.repliesReceived === 1, 30_000);
    expect(state.consent).toEqual({ 'sms:service': false, 'sms:marketing': false });
  });
});

describe('a provider that accepts the SMS only after the client gave up on it', () => {
  it('sends it once: the retry waits until the late request can no longer be accepted, then adopts it', async () => {
    const before = mock.delivered();
    // Twilio takes it 30 s after it was sent: past the client's 15 s timeout, and after Temporal's
    // first retry (5 s after that) has looked for it and found nothing.
    mock.delayNextRequest(30_000);
    const phone = `+86138${String(Date.now()).slice(-8)}`;
    const res = await fetch(`${stack.apiUrl}/v1/deliveries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        storeId, deliveredAt: new Date().toISOString(),
        customer: { externalId: 'C-2', name: '陈先生', phone },
        vehicle: { vin: validVin(2), model: 'Model 3' },
        consultant: { externalId: 'S-1', name: '李明', phone: '+8613900001111' },
      }),
    });
    expect(res.status).toBe(201);

    // Client timeout 15 s + a minute's margin before the retry may conclude it was never sent.
    const message = await eventually('the late-accepted SMS', () => db.db.message.findFirst({ where: { toAddress: phone } }), (m) => m?.status === 'sent', 180_000);
    await mock.idle();

    expect(mock.delivered()).toBe(before + 1);
    expect(message?.providerId).toBe(mock.accepted().at(-1)?.sid);
    expect(mock.requests.filter((r) => r.method === 'POST' && r.form.To === phone)).toHaveLength(1);
    expect(readFileSync(path.join(dataDir, 'stack.log'), 'utf8')).toContain('earlier attempt may still be accepted');
  });
});
