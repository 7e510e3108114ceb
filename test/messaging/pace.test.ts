import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createCaseActivities } from '../../src/activities/cases';
import { createMessagingActivities } from '../../src/activities/messaging';
import { createDb, type Db } from '../../src/db/client';
import type { LifecycleInput } from '../../src/domain/lifecycle';
import { smsSegments } from '../../src/domain/sms-segments';
import { createSendPace, type SendPace } from '../../src/messaging/pace';
import { createOutboxTransport, type Transport } from '../../src/messaging/transports';
import { createTwilioTransport } from '../../src/messaging/twilio';
import { createTwilioClient } from '../../src/messaging/twilio-client';
import { messagingTaskQueue } from '../../src/workflows/contract';
import { recordingCaseWorkflows } from '../helpers/case-workflows';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, devServerEnv, uniqueTaskQueue } from '../helpers/temporal';
import { startTwilioMock, type TwilioMock } from '../helpers/twilio-mock';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, seedCustomer, seedStore, silentLogger, zoneWhereItIsNoon } from './fixtures';

/**
 * The provider's pace (src/messaging/pace.ts) on real workers: the rate holds for all workers
 * together, counts SMS segments, and a message whose slot comes after its "not after" expires; a
 * case owner's SMS takes its slot in the same pace.
 */
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let mock: TwilioMock;

beforeAll(async () => {
  [t, mock] = await Promise.all([createTestDatabase(), startTwilioMock()]);
});

afterAll(async () => {
  await Promise.all([t?.drop(), mock?.stop()]);
});

const MAX_WAIT_MS = 10_000;

function twilioTransport(): Transport {
  return createTwilioTransport({ client: createTwilioClient(mock.baseUrl, ACCOUNT_SID, AUTH_TOKEN, { timeoutMs: 5_000 }), from: '+15005550006' });
}

/** Counts the sends that went through it, to tell which worker sent what. */
function counted(transport: Transport): Transport & { sent: number } {
  const wrapped = { ...transport, sent: 0, send: async (m: Parameters<Transport['send']>[0]) => ((wrapped.sent += 1), transport.send(m)) };
  return wrapped;
}

describe('two workers on the messaging task queue', () => {
  const RATE = 8; // segments per second
  const SENDS = 40;
  // Two seconds of burst at the provider absorb a loaded machine's delays between a slot and its
  // request; two workers pacing themselves apart (16 segments/s) still overrun it by far.
  let env: TestWorkflowEnvironment;
  const dbs: Db[] = [];

  beforeAll(async () => {
    env = await devServerEnv();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.$disconnect()));
    await env?.teardown();
  });

  it('send a burst at the provider\'s rate together, counting segments, each message once and no 429', async () => {
    mock.limitRate(RATE, 'segments', 2);
    const timeZone = zoneWhereItIsNoon();
    const { store } = await seedStore(t.db, { timeZone });
    // zh-CN reminders are one segment, English ones (with a Chinese name: UCS-2) two.
    const customers = await Promise.all(Array.from({ length: SENDS }, (_, i) => seedCustomer(t.db, store.id, { locale: i % 2 ? 'en' : 'zh-CN' })));
    const taskQueue = uniqueTaskQueue('pace');
    // Each worker as its own process would have it: its own pool, pace object and transport.
    const worker = (sms: Transport) => {
      const db = createDb(t.url, 5);
      dbs.push(db);
      const smsPace = createSendPace(db, { key: 'sms', perSecond: RATE, counts: 'segments', maxWaitMs: MAX_WAIT_MS });
      return { db, sms, email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger, smsPace, temporal: env.client, taskQueue };
    };
    const [smsA, smsB] = [counted(twilioTransport()), counted(twilioTransport())];
    const { worker: first } = await createTestWorker(env, createActivities(worker(smsA)), taskQueue);
    // A connection of its own, as another process has (the SDK refuses two workers of one queue on one connection).
    const connection = await NativeConnection.connect({ address: env.address });
    const second = await Worker.create({ connection, taskQueue: messagingTaskQueue(taskQueue), activities: createMessagingActivities(worker(smsB)) });

    const deliveredAt = new Date().toISOString();
    await second.runUntil(first.runUntil(async () => {
      await Promise.all(customers.map((c) => env.client.workflow.start('vehicleLifecycle', { taskQueue, workflowId: c.workflowId, args: [reminderOnly(c.deliveryId, store.id, timeZone, deliveredAt)] })));
      await mock.waitForDelivered(SENDS, 120_000);
      await mock.idle();
    })).finally(() => connection.close());

    const accepted = [...mock.accepted()].sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime());
    const costs = accepted.map((m) => smsSegments(m.body).segments);
    expect(new Set(costs)).toEqual(new Set([1, 2]));
    expect(accepted).toHaveLength(SENDS);
    expect(new Set(accepted.map((m) => m.to)).size).toBe(SENDS);
    expect(await t.db.message.count({ where: { storeId: store.id, status: 'sent' } })).toBe(SENDS);
    expect(mock.rateLimited()).toBe(0);
    // Both workers sent, and together no faster than the rate allows beyond the provider's burst.
    expect(smsA.sent).toBeGreaterThan(0);
    expect(smsB.sent).toBeGreaterThan(0);
    const segments = costs.reduce((a, b) => a + b, 0);
    const tookS = (accepted[SENDS - 1].dateCreated.getTime() - accepted[0].dateCreated.getTime()) / 1000;
    expect(tookS).toBeGreaterThanOrEqual((segments - costs[SENDS - 1]) / RATE - 2);
  }, 180_000);
});

/** A plan of one reminder, due at delivery: what the years plan's reminders look like when they fall due. */
function reminderOnly(deliveryId: string, storeId: string, timeZone: string, deliveredAt: string): LifecycleInput {
  return {
    deliveryId, storeId, timeZone, deliveredAt, customerWindow: { start: '09:00', end: '20:00' },
    plan: {
      id: 'pace', version: 1,
      steps: [{ key: 'maintenance-reminder', title: '保养提醒', kind: 'message', channel: 'sms', role: 'system', timing: { type: 'after', minutes: 0 }, checklist: [], template: 'maintenance-reminder', notAfterMinutes: 60 }],
    },
    vehicle: { model: 'Model Y' },
  };
}

describe('a send waiting for the pace', () => {
  let pace: SendPace;
  let storeId: string;

  beforeAll(async () => {
    storeId = (await seedStore(t.db, { timeZone: zoneWhereItIsNoon() })).store.id;
    // A rate of its own, so the first describe's sends cannot be in its way.
    pace = createSendPace(t.db, { key: 'sms-expiry-test', perSecond: 1, counts: 'messages', maxWaitMs: MAX_WAIT_MS });
  });

  const send = () => createMessagingActivities({ db: t.db, sms: twilioTransport(), email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger, smsPace: pace, ...recordingCaseWorkflows() }).sendMessage;
  const reminder = (deliveryId: string, notAfter?: Date) => ({
    idempotencyKey: `wf:${deliveryId}:${randomUUID()}`, deliveryId, templateKey: 'maintenance-reminder', channel: 'sms' as const, purpose: 'service' as const,
    ...(notAfter && { notAfter: notAfter.toISOString() }),
  });
  /** Others have booked the pace until `ms` from now. */
  const bookedFor = (ms: number) => t.db.$executeRaw`UPDATE "SendPace" SET "nextFreeAt" = now() + make_interval(secs => ${ms / 1000}::float8) WHERE "key" = 'sms-expiry-test'`;

  it('expires, visibly and unsent, when its slot would come after its notAfter', async () => {
    await pace.reserve(1, null); // creates the row
    await bookedFor(5_000);
    const { deliveryId } = await seedCustomer(t.db, storeId);
    const before = mock.delivered();
    const result = await send()(reminder(deliveryId, new Date(Date.now() + 2_000)));
    expect(result).toMatchObject({ status: 'expired', reason: 'pace past notAfter' });
    expect(await t.db.message.findUniqueOrThrow({ where: { id: result.messageId! } })).toMatchObject({ status: 'expired', errorReason: 'pace past notAfter', providerId: null });
    expect(mock.delivered()).toBe(before);
  });

  it('waits for its slot and then sends, when the slot comes before its notAfter', async () => {
    await bookedFor(1_500);
    const { deliveryId } = await seedCustomer(t.db, storeId);
    const started = Date.now();
    const result = await send()(reminder(deliveryId, new Date(Date.now() + 60_000)));
    expect(result.status).toBe('sent');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  });

  it('asks Temporal to retry it later, holding no slot, when the pace is booked beyond its wait', async () => {
    await bookedFor(60_000);
    const { deliveryId } = await seedCustomer(t.db, storeId);
    const error = await send()(reminder(deliveryId)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'SendPaceBooked', nonRetryable: false });
    const delayMs = Number((error as ApplicationFailure).nextRetryDelay);
    expect(delayMs).toBeGreaterThan(40_000);
    expect(delayMs).toBeLessThanOrEqual(60_000);
    // The claim is given up (nothing went to the provider), and nothing reserved: the pace is still booked to the same instant.
    expect(await t.db.message.findFirstOrThrow({ where: { deliveryId }, select: { status: true, inFlightUntil: true } })).toEqual({ status: 'queued', inFlightUntil: null });
    const [{ aheadS }] = await t.db.$queryRaw<{ aheadS: number }[]>`SELECT extract(epoch FROM "nextFreeAt" - now())::float8 AS "aheadS" FROM "SendPace" WHERE "key" = 'sms-expiry-test'`;
    expect(aheadS).toBeGreaterThan(50);
    expect(aheadS).toBeLessThanOrEqual(60);
  });
});

describe('a case owner\'s SMS', () => {
  let pace: SendPace;
  let storeId: string;
  let caseId: string;
  let staffId: string;

  beforeAll(async () => {
    storeId = (await seedStore(t.db, { timeZone: zoneWhereItIsNoon() })).store.id;
    pace = createSendPace(t.db, { key: 'sms-staff-test', perSecond: 1, counts: 'messages', maxWaitMs: MAX_WAIT_MS });
    await pace.reserve(1, null); // creates the row
    const { deliveryId } = await seedCustomer(t.db, storeId);
    const manager = await t.db.staff.create({ data: { storeId, externalId: `gm-${randomUUID()}`, name: '赵总', role: 'general_manager', phone: '+8613900002222', email: 'gm@example.com' } });
    staffId = manager.id;
    // At the ladder's third rung, where the default policy texts the owner as well as emailing.
    caseId = (await t.db.escalationCase.create({ data: { storeId, deliveryId, reason: 'complaint', assigneeId: staffId, level: 3, openedBy: 'system' } })).id;
  });

  const notify = () => createCaseActivities({ db: t.db, logger: silentLogger, sms: twilioTransport(), email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, smsPace: pace }).notifyCaseOwner;
  const bookedFor = (ms: number) => t.db.$executeRaw`UPDATE "SendPace" SET "nextFreeAt" = now() + make_interval(secs => ${ms / 1000}::float8) WHERE "key" = 'sms-staff-test'`;
  const smsRow = (idempotencyKey: string) => t.db.staffNotification.findUnique({ where: { idempotencyKey: `${idempotencyKey}:sms` } });

  it('waits for its slot in the customers\' pace, then goes out once', async () => {
    await bookedFor(1_500);
    const key = `case:${randomUUID()}`;
    const before = mock.delivered();
    const started = Date.now();
    expect(await notify()({ caseId, staffId, idempotencyKey: key })).toEqual({ sent: ['email', 'sms'] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(mock.delivered()).toBe(before + 1);
    expect(await smsRow(key)).toMatchObject({ status: 'sent' });
  });

  it('retries later when the pace is booked beyond its wait, having written and sent nothing, and then sends once', async () => {
    await bookedFor(60_000);
    const key = `case:${randomUUID()}`;
    const before = mock.delivered();
    const error = await notify()({ caseId, staffId, idempotencyKey: key }).catch((err: unknown) => err);
    expect(error).toMatchObject({ type: 'SendPaceBooked', nonRetryable: false });
    expect(Number((error as ApplicationFailure).nextRetryDelay)).toBeGreaterThan(40_000);
    expect(await smsRow(key)).toBeNull();
    expect(mock.delivered()).toBe(before);
    // The retry, once the pace has room: the email already went, the SMS goes now, each once.
    await bookedFor(0);
    expect(await notify()({ caseId, staffId, idempotencyKey: key })).toEqual({ sent: ['sms'] });
    expect(mock.delivered()).toBe(before + 1);
  });
});
