import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMessagingActivities, type SendMessageInput, type SendMessageResult } from '../../src/activities/messaging';
import type { Db } from '../../src/db/client';
import { createTwilioTransport } from '../../src/messaging/twilio';
import { applyDeliveryReceipt } from '../../src/messaging/records';
import { createTwilioClient } from '../../src/messaging/twilio-client';
import { createOutboxTransport, type Transport } from '../../src/messaging/transports';
import { createTestDatabase } from '../helpers/db';
import { startTwilioMock, type TwilioMock } from '../helpers/twilio-mock';
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, seedCustomer, seedStore, silentLogger, zoneWhereItIsNoon } from './fixtures';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let mock: TwilioMock;

beforeAll(async () => {
  [t, mock] = await Promise.all([createTestDatabase(), startTwilioMock()]);
  db = t.db;
});

afterAll(async () => {
  await Promise.all([t?.drop(), mock?.stop()]);
});

beforeEach(() => {
  mock.requests.length = 0;
});

/** Twilio may accept a request up to a second after the client gave up on it (production assumes a minute). */
const LATE_ACCEPTANCE_MARGIN_MS = 1_000;

function twilioTransport(timeoutMs = 5_000): Transport {
  const client = createTwilioClient(mock.baseUrl, ACCOUNT_SID, AUTH_TOKEN, { timeoutMs });
  return createTwilioTransport({ client, from: '+15005550006', lateAcceptanceMarginMs: LATE_ACCEPTANCE_MARGIN_MS });
}

function activities(opts: { sms?: Transport; now?: () => Date; cap?: number } = {}) {
  return createMessagingActivities({
    db, sms: opts.sms ?? createOutboxTransport(), email: createOutboxTransport(), publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger,
    now: opts.now, messageCapPerDay: opts.cap, ...recordingCaseWorkflows(),
  });
}

/** What Temporal does with the activity: run it, and on a retryable failure run it again (after the delay it asks for). */
async function runAsTemporal(send: (input: SendMessageInput) => Promise<SendMessageResult>, input: SendMessageInput, maxAttempts = 10) {
  const errors: unknown[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    try {
      const result = await new MockActivityEnvironment({ attempt }).run<[SendMessageInput], SendMessageResult, typeof send>(send, input);
      return { result, attempts: attempt, errors };
    } catch (err) {
      errors.push(err);
      if (err instanceof ApplicationFailure && err.nonRetryable) throw Object.assign(err, { attempts: attempt });
      if (err instanceof ApplicationFailure && err.nextRetryDelay) await new Promise((resolve) => setTimeout(resolve, msToNumber(err.nextRetryDelay!)));
    }
  }
  throw new Error(`still failing after ${maxAttempts} attempts: ${errors.map(String).join('; ')}`);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const started = Date.now(); !(await condition());) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const creates = () => mock.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Messages.json'));
const lookups = () => mock.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/Messages.json'));

function thankYou(deliveryId: string, overrides: Partial<SendMessageInput> = {}): SendMessageInput {
  return { idempotencyKey: `wf:${deliveryId}:${randomUUID()}`, deliveryId, templateKey: 'delivery-thank-you', channel: 'sms', purpose: 'service', ...overrides };
}

describe('sending an SMS through Twilio (the SDK against the Prism mock)', () => {
  let storeId: string;
  let crId: string;
  beforeAll(async () => {
    const seeded = await seedStore(db, { timeZone: zoneWhereItIsNoon() });
    storeId = seeded.store.id;
    crId = seeded.cr.id;
  });

  it('delivers exactly one message through two rate limits and a server error, retried as Temporal would', async () => {
    const { deliveryId, phone } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.failNext(3, 429);
    const send = activities({ sms: twilioTransport() }).sendMessage;
    const input = thankYou(deliveryId);

    const first = await runAsTemporal(send, input, 3).catch((e: unknown) => e);
    expect(String(first)).toMatch(/rate-limited \(20429\)/);
    mock.failNext(1, 500);
    const { result, attempts } = await runAsTemporal(send, input);

    expect(result.status).toBe('sent');
    expect(attempts).toBe(2);
    expect(mock.delivered()).toBe(before + 1);
    const [accepted] = mock.accepted().slice(-1);
    const row = await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } });
    expect(row).toMatchObject({ status: 'sent', providerId: accepted?.sid, transport: 'twilio', toAddress: phone });
    expect(accepted?.body).toBe(row.body);
    // 3 rate limits + a 500 + the one that went through.
    expect(creates()).toHaveLength(5);
    expect(creates()[0]?.form.StatusCallback).toBe(`${PUBLIC_BASE_URL}/v1/webhooks/twilio/status`);
    // A 429 certainly was not taken, so only the attempt after the 500 had to look first.
    expect(lookups()).toHaveLength(2);
  });

  it('is not sent again when the activity runs again after it succeeded', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const send = activities({ sms: twilioTransport() }).sendMessage;
    const input = thankYou(deliveryId);
    const before = mock.delivered();

    const first = await runAsTemporal(send, input);
    const again = await runAsTemporal(send, input);

    expect(again.result).toEqual(first.result);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('adopts the message Twilio accepted when the answer was lost, instead of sending it twice', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.delayNextAnswer(1_500);
    const send = activities({ sms: twilioTransport(500) }).sendMessage;
    const input = thankYou(deliveryId);

    const { result, attempts, errors } = await runAsTemporal(send, input);

    expect(String(errors[0])).toMatch(/network/);
    expect(attempts).toBe(2);
    expect(result.status).toBe('sent');
    expect(mock.delivered()).toBe(before + 1);
    expect(creates()).toHaveLength(1);
    expect(lookups().length).toBeGreaterThanOrEqual(1);
    const row = await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } });
    expect(row.providerId).toBe(mock.accepted().at(-1)?.sid);
  });

  it('finds a message Twilio still holds in its queue (no date sent yet) after a lost answer', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.holdInQueue(1);
    mock.delayNextAnswer(1_500);
    const input = thankYou(deliveryId);

    const { result } = await runAsTemporal(activities({ sms: twilioTransport(500) }).sendMessage, input);

    expect(result.status).toBe('sent');
    expect(mock.delivered()).toBe(before + 1);
    expect(creates()).toHaveLength(1);
    // The DateSent filter missed it; the newest messages to the number did not.
    expect(lookups()).toHaveLength(2);
    expect((await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } })).providerId).toBe(mock.accepted().at(-1)?.sid);
  });

  it.each([700, 1_100])('sends no second message when Twilio accepts the first %i ms after it was sent, past the client\'s 500 ms timeout', async (lateMs) => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.delayNextRequest(lateMs);
    const input = thankYou(deliveryId);

    const { result } = await runAsTemporal(activities({ sms: twilioTransport(500) }).sendMessage, input);
    await mock.idle();

    expect(result.status).toBe('sent');
    expect(mock.delivered()).toBe(before + 1);
    expect(creates()).toHaveLength(1);
    const row = await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } });
    expect(row.providerId).toBe(mock.accepted().at(-1)?.sid);
  });

  it('sends anew once an unanswered request can no longer be accepted, and not before', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    // Held past the client's timeout, then refused: Twilio never took it.
    mock.delayNextRequest(700);
    mock.failNext(1, 503);
    const input = thankYou(deliveryId);
    const started = Date.now();

    const { result, errors } = await runAsTemporal(activities({ sms: twilioTransport(500) }).sendMessage, input);

    expect(result.status).toBe('sent');
    expect(errors[1]).toMatchObject({ type: 'EarlierAttemptInFlight', nonRetryable: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500 + LATE_ACCEPTANCE_MARGIN_MS);
    expect(creates()).toHaveLength(2);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('adopts at once after a crash, while the crashed attempt\'s request could still be accepted', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.delayNextAnswer(2_000);
    const input = thankYou(deliveryId);
    // The first attempt's worker is lost once Twilio has the message; Temporal retries on another.
    const lost = activities({ sms: twilioTransport() }).sendMessage(input);
    await mock.waitForDelivered(before + 1);

    const { result, attempts } = await runAsTemporal(activities({ sms: twilioTransport() }).sendMessage, input);

    expect(result.status).toBe('sent');
    expect(attempts).toBe(1);
    expect((await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } })).providerId).toBe(mock.accepted().at(-1)?.sid);
    // The lost attempt's answer, when it comes, changes nothing.
    await lost;
    expect(mock.delivered()).toBe(before + 1);
    expect(creates()).toHaveLength(1);
  });

  it('adopts the message when the connection dropped after Twilio took it', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.loseNextAnswer();

    const { result, attempts, errors } = await runAsTemporal(activities({ sms: twilioTransport() }).sendMessage, thankYou(deliveryId));

    expect(errors[0]).toMatchObject({ name: 'RetryableSendError', reason: 'network', notAccepted: false, answered: false });
    expect(result.status).toBe('sent');
    expect(attempts).toBe(2);
    expect(mock.delivered()).toBe(before + 1);
    expect(creates()).toHaveLength(1);
  });

  it('keeps a delivery receipt that comes before the send recorded the SID, and applies it then', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const before = mock.delivered();
    mock.delayNextAnswer(1_000);
    const input = thankYou(deliveryId);
    const sending = activities({ sms: twilioTransport() }).sendMessage(input);
    await mock.waitForDelivered(before + 1);
    const sid = mock.accepted().at(-1)!.sid;

    const early = await applyDeliveryReceipt(db, { providerId: sid, status: 'undelivered', errorCode: '30005' }, silentLogger, recordingCaseWorkflows());

    expect(early).toEqual({ messageId: null, status: null });
    expect((await sending).status).toBe('sent');
    const row = await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey }, include: { cases: true } });
    expect(row).toMatchObject({ providerId: sid, status: 'undelivered', errorCode: '30005', errorReason: 'invalid-number' });
    expect(row.cases).toEqual([expect.objectContaining({ reason: 'data-fix' })]);
    expect(await db.pendingReceipt.count({ where: { providerId: sid } })).toBe(0);
  });

  it('sends once when two attempts run at once (one outlived its timeout): the later claim sees the earlier one', async () => {
    const { deliveryId, customerId } = await seedCustomer(db, storeId);
    const send = activities({ sms: twilioTransport() }).sendMessage;
    const input = thankYou(deliveryId);
    // Both attempts read the queued message, then wait at the customer's lock that claims take turns at.
    let release!: () => void;
    const held = db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM "Customer" WHERE "id" = ${customerId}::uuid FOR UPDATE`;
      await new Promise<void>((resolve) => { release = resolve; });
    }, { timeout: 60_000 });
    await until(async () => release !== undefined);
    const attempts = [1, 2].map((attempt) => new MockActivityEnvironment({ attempt }).run(send, input).then(
      (result) => ({ result }), (error: unknown) => ({ error }),
    ));
    await until(async () => {
      const [{ waiting }] = await db.$queryRaw<{ waiting: number }[]>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      return waiting >= 2;
    });
    release();
    await held;
    const outcomes = await Promise.all(attempts);

    expect(creates()).toHaveLength(1);
    expect(outcomes.filter((o) => 'result' in o).map((o) => (o as { result: SendMessageResult }).result.status)).toEqual(['sent']);
    expect(outcomes.filter((o) => 'error' in o).map((o) => (o as { error: unknown }).error)).toEqual([expect.objectContaining({ type: 'EarlierAttemptInFlight' })]);
    // The next attempt Temporal makes finds the message sent.
    expect((await runAsTemporal(send, input)).result.status).toBe('sent');
    expect(creates()).toHaveLength(1);
  });

  it('does not adopt a message that another of our messages already owns', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const send = activities({ sms: twilioTransport(500) }).sendMessage;
    const first = await runAsTemporal(send, thankYou(deliveryId));
    const before = mock.delivered();
    // A second message with the same text whose first attempt lost its answer before reaching Twilio.
    const input = thankYou(deliveryId);
    await db.message.create({
      data: {
        ...(await db.message.findUniqueOrThrow({ where: { id: first.result.messageId! }, select: { storeId: true, customerId: true, deliveryId: true, channel: true, purpose: true, templateKey: true, locale: true, transport: true, toAddress: true, body: true } })),
        idempotencyKey: input.idempotencyKey, status: 'sending',
      },
    });

    const { result } = await runAsTemporal(send, input);

    expect(result.status).toBe('sent');
    expect(mock.delivered()).toBe(before + 1);
    const rows = await db.message.findMany({ where: { deliveryId }, select: { providerId: true } });
    expect(new Set(rows.map((r) => r.providerId)).size).toBe(2);
  });

  it('knows nothing was sent when Twilio could not be reached, and sends without looking next time', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const unreachable = createTwilioTransport({ client: createTwilioClient('http://127.0.0.1:1', ACCOUNT_SID, AUTH_TOKEN), from: '+15005550006' });
    const input = thankYou(deliveryId);

    const error = await activities({ sms: unreachable }).sendMessage(input).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RetryableSendError', reason: 'network', notAccepted: true });
    expect((await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey } })).status).toBe('queued');

    expect((await activities({ sms: twilioTransport() }).sendMessage(input)).status).toBe('sent');
    expect(lookups()).toHaveLength(0);
    expect(creates()).toHaveLength(1);
  });

  it('stops at an invalid number: failed with the reason, no retry, a data-fix task for the CR specialist', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    mock.failNext(1, 400, 21211);
    const input = thankYou(deliveryId);

    const error = await runAsTemporal(activities({ sms: twilioTransport() }).sendMessage, input).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient', attempts: 1 });
    expect((error as Error).message).not.toMatch(/\+86/);
    expect(creates()).toHaveLength(1);
    const row = await db.message.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey }, include: { cases: true } });
    expect(row).toMatchObject({ status: 'failed', errorReason: 'invalid-number', errorCode: '21211' });
    expect(row.cases).toEqual([expect.objectContaining({ reason: 'data-fix', status: 'open', assigneeId: crId, deliveryId })]);
  });

  it('records an opted-out number (21610) as withdrawn SMS consent, and the next message is suppressed', async () => {
    const { deliveryId, customerId } = await seedCustomer(db, storeId);
    mock.failNext(1, 400, 21610);
    const send = activities({ sms: twilioTransport() }).sendMessage;

    const error = await runAsTemporal(send, thankYou(deliveryId)).catch((e: unknown) => e);

    expect(error).toMatchObject({ nonRetryable: true, type: 'RecipientOptedOut' });
    const consents = await db.consent.findMany({ where: { customerId }, orderBy: { purpose: 'asc' } });
    expect(consents.map((c) => [c.channel, c.purpose, c.granted, c.source])).toEqual([
      ['sms', 'marketing', false, 'provider-opt-out'],
      ['sms', 'service', false, 'provider-opt-out'],
    ]);
    expect(await db.escalationCase.count({ where: { deliveryId, reason: 'data-fix' } })).toBe(1);
    const next = await runAsTemporal(send, thankYou(deliveryId, { templateKey: 'delivery-care-2h' }));
    expect(next.result).toMatchObject({ status: 'suppressed', reason: 'no consent' });
    expect(creates()).toHaveLength(1);
  });

  it('opens one data-fix task per delivery and channel, however many messages fail', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const send = activities({ sms: twilioTransport() }).sendMessage;
    mock.failNext(2, 400, 21211);

    await runAsTemporal(send, thankYou(deliveryId)).catch(() => undefined);
    await runAsTemporal(send, thankYou(deliveryId, { templateKey: 'delivery-farewell' })).catch(() => undefined);

    expect(await db.escalationCase.count({ where: { deliveryId, reason: 'data-fix' } })).toBe(1);
  });

  it('opens no data-fix task when our credentials are wrong: that is not the customer\'s data', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    mock.failNext(1, 401);

    const error = await runAsTemporal(activities({ sms: twilioTransport() }).sendMessage, thankYou(deliveryId)).catch((e: unknown) => e);

    expect(error).toMatchObject({ nonRetryable: true, type: 'TransportMisconfigured' });
    expect(await db.escalationCase.count({ where: { deliveryId } })).toBe(0);
  });
});

describe('consent at send time', () => {
  let storeId: string;
  beforeAll(async () => {
    storeId = (await seedStore(db, { timeZone: zoneWhereItIsNoon() })).store.id;
    await db.messageTemplate.create({
      data: { storeId, key: 'spring-offer', locale: 'zh-CN', channel: 'sms', purpose: 'marketing', body: '【{{storeName}}】春季保养八折', variables: ['storeName'] },
    });
  });

  it('sends service notices by default', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    expect((await activities().sendMessage(thankYou(deliveryId))).status).toBe('sent');
  });

  it('suppresses marketing without an explicit grant, and sends it with one (with the opt-out hint)', async () => {
    const { deliveryId, customerId } = await seedCustomer(db, storeId);
    const send = activities().sendMessage;

    const withoutGrant = await send(thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' }));
    await db.consent.create({ data: { customerId, channel: 'sms', purpose: 'marketing', granted: true, source: 'api-key:test' } });
    const withGrant = await send(thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' }));

    expect(withoutGrant).toMatchObject({ status: 'suppressed', reason: 'no consent' });
    expect(withGrant.status).toBe('sent');
    expect((await db.message.findUniqueOrThrow({ where: { id: withGrant.messageId! } })).body).toMatch(/回T退订$/);
  });

  it('treats a marketing template as marketing even when the caller says service', async () => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const result = await activities().sendMessage(thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'service' }));
    expect(result).toMatchObject({ status: 'suppressed', reason: 'no consent' });
  });

  it('suppresses a service notice after the customer opted out', async () => {
    const { deliveryId, customerId } = await seedCustomer(db, storeId);
    await db.consent.create({ data: { customerId, channel: 'sms', purpose: 'service', granted: false, source: 'sms-keyword' } });
    expect(await activities().sendMessage(thankYou(deliveryId))).toMatchObject({ status: 'suppressed' });
  });
});

describe('the store\'s own templates at send time', () => {
  it('an edit reaches the very next send (a new version), and a deleted one gives way to the built-in text', async () => {
    const storeId = (await seedStore(db, { timeZone: zoneWhereItIsNoon() })).store.id;
    const template = await db.messageTemplate.create({
      data: { storeId, key: 'delivery-thank-you', locale: 'zh-CN', channel: 'sms', purpose: 'service', body: '【{{storeName}}】感谢您选择我们', variables: ['storeName'] },
    });
    // One activities instance, as in a worker: the rows it checked are remembered between sends.
    const send = activities().sendMessage;
    const bodyOf = async (result: SendMessageResult) => (await db.message.findUniqueOrThrow({ where: { id: result.messageId! } })).body;

    expect(await bodyOf(await send(thankYou((await seedCustomer(db, storeId)).deliveryId)))).toMatch(/感谢您选择我们$/);
    // As PUT /v1/stores/:id/templates/... saves it: the version moves on with the text.
    await db.messageTemplate.update({ where: { id: template.id }, data: { body: '【{{storeName}}】交车快乐', version: { increment: 1 } } });
    expect(await bodyOf(await send(thankYou((await seedCustomer(db, storeId)).deliveryId)))).toMatch(/交车快乐$/);
    await db.messageTemplate.delete({ where: { id: template.id } });
    expect(await bodyOf(await send(thankYou((await seedCustomer(db, storeId)).deliveryId)))).not.toMatch(/交车快乐|感谢您选择我们/);
  });
});

describe('quiet hours at send time', () => {
  const at = (iso: string) => () => new Date(iso);
  let shanghai: string;
  let losAngeles: string;
  beforeAll(async () => {
    shanghai = (await seedStore(db, { timeZone: 'Asia/Shanghai' })).store.id;
    losAngeles = (await seedStore(db, { timeZone: 'America/Los_Angeles' })).store.id;
    for (const storeId of [shanghai, losAngeles]) {
      await db.messageTemplate.create({
        data: { storeId, key: 'spring-offer', locale: 'zh-CN', channel: 'sms', purpose: 'marketing', body: '【{{storeName}}】春季保养八折', variables: ['storeName'] },
      });
    }
  });

  async function marketingCustomer(storeId: string, window?: { start: string; end: string }) {
    const seeded = await seedCustomer(db, storeId, { window });
    await db.consent.create({ data: { customerId: seeded.customerId, channel: 'sms', purpose: 'marketing', granted: true, source: 'api-key:test' } });
    return seeded;
  }

  it('defers marketing at 23:00 Shanghai time to 08:00 the next morning, then sends it when called again', async () => {
    const { deliveryId } = await marketingCustomer(shanghai);
    const input = thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' });

    const late = await activities({ now: at('2026-03-10T15:00:00Z') }).sendMessage(input); // 23:00 +08:00
    const morning = await activities({ now: at(late.notBefore!) }).sendMessage(input);

    expect(late).toMatchObject({ status: 'deferred', reason: 'quiet-hours', notBefore: '2026-03-11T00:00:00.000Z' });
    expect(morning.status).toBe('sent');
    expect(await db.message.count({ where: { idempotencyKey: input.idempotencyKey } })).toBe(1);
  });

  it('keeps marketing to 08:00-21:00 even for a customer whose own window runs late', async () => {
    const { deliveryId } = await marketingCustomer(shanghai, { start: '18:00', end: '23:30' });
    const result = await activities({ now: at('2026-03-10T13:30:00Z') }).sendMessage(thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' })); // 21:30
    expect(result).toMatchObject({ status: 'deferred', notBefore: '2026-03-11T00:00:00.000Z' });
  });

  it.each([
    ['23:30, inside a 22:00-02:00 window', '2026-03-10T15:30:00Z', 'sent', undefined],
    ['01:59, still inside it after midnight', '2026-03-10T17:59:00Z', 'sent', undefined],
    ['02:00, when it has just closed', '2026-03-10T18:00:00Z', 'deferred', '2026-03-11T14:00:00.000Z'],
    ['12:00, outside it', '2026-03-10T04:00:00Z', 'deferred', '2026-03-10T14:00:00.000Z'],
  ])('sends a service notice only inside a window across midnight: %s', async (_name, now, status, notBefore) => {
    const { deliveryId } = await seedCustomer(db, shanghai, { window: { start: '22:00', end: '02:00' } });
    const result = await activities({ now: at(now) }).sendMessage(thankYou(deliveryId));
    expect(result).toMatchObject({ status, ...(notBefore && { notBefore }) });
  });

  it('reads the hours in the store\'s time zone: 21:30 in Los Angeles is late there, whatever the server\'s clock', async () => {
    const { deliveryId } = await marketingCustomer(losAngeles);
    // 2026-07-10 21:30 PDT (UTC-7) is 04:30 UTC on the 11th: morning in UTC, late evening at the store.
    const result = await activities({ now: at('2026-07-11T04:30:00Z') }).sendMessage(thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' }));
    expect(result).toMatchObject({ status: 'deferred', notBefore: '2026-07-11T15:00:00.000Z' }); // 08:00 PDT
  });

  it('expires a message that could only go out after its notAfter, visibly, without sending it', async () => {
    const { deliveryId } = await marketingCustomer(shanghai);
    const input = thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing', notAfter: '2026-03-10T23:00:00Z' });
    const result = await activities({ now: at('2026-03-10T15:00:00Z') }).sendMessage(input);
    expect(result).toMatchObject({ status: 'expired', reason: 'quiet-hours past notAfter' });
    expect(await db.message.findUniqueOrThrow({ where: { id: result.messageId! } })).toMatchObject({ status: 'expired', providerId: null });
  });
});

describe('the frequency cap', () => {
  let storeId: string;
  const noon = new Date('2026-05-06T04:00:00Z'); // 12:00 in Shanghai
  const minutesLater = (n: number) => () => new Date(noon.getTime() + n * 60_000);
  beforeAll(async () => {
    storeId = (await seedStore(db, { timeZone: 'Asia/Shanghai' })).store.id;
    await db.messageTemplate.create({
      data: { storeId, key: 'spring-offer', locale: 'zh-CN', channel: 'sms', purpose: 'marketing', body: '【{{storeName}}】春季保养八折', variables: ['storeName'] },
    });
  });

  async function customerWithMarketingConsent() {
    const seeded = await seedCustomer(db, storeId);
    await db.consent.create({ data: { customerId: seeded.customerId, channel: 'sms', purpose: 'marketing', granted: true, source: 'api-key:test' } });
    return seeded;
  }
  const offer = (deliveryId: string) => thankYou(deliveryId, { templateKey: 'spring-offer', purpose: 'marketing' });

  it('defers marketing once three messages went out in 24 hours, until the first of them is a day old', async () => {
    const { deliveryId } = await customerWithMarketingConsent();
    for (const [i, key] of ['delivery-thank-you', 'delivery-farewell', 'delivery-care-2h'].entries()) {
      expect((await activities({ now: minutesLater(i * 30) }).sendMessage(thankYou(deliveryId, { templateKey: key }))).status).toBe('sent');
    }

    const result = await activities({ now: minutesLater(120) }).sendMessage(offer(deliveryId));

    expect(result).toMatchObject({ status: 'deferred', reason: 'frequency-cap', notBefore: '2026-05-07T04:00:00.000Z' });
  });

  it('never holds a service notice back because of marketing', async () => {
    const { deliveryId } = await customerWithMarketingConsent();
    for (let i = 0; i < 3; i += 1) expect((await activities({ now: minutesLater(i) }).sendMessage(offer(deliveryId))).status).toBe('sent');

    const service = await activities({ now: minutesLater(5) }).sendMessage(thankYou(deliveryId));
    const moreMarketing = await activities({ now: minutesLater(6) }).sendMessage(offer(deliveryId));

    expect(service.status).toBe('sent');
    expect(moreMarketing.status).toBe('deferred');
  });

  it('holds a fourth service notice in 24 hours back, and honours a configured cap', async () => {
    const { deliveryId } = await customerWithMarketingConsent();
    for (let i = 0; i < 3; i += 1) await activities({ now: minutesLater(i) }).sendMessage(thankYou(deliveryId));
    expect((await activities({ now: minutesLater(10) }).sendMessage(thankYou(deliveryId))).status).toBe('deferred');
    expect((await activities({ now: minutesLater(10), cap: 4 }).sendMessage(thankYou(deliveryId))).status).toBe('sent');
  });

  it('moves a deferral that would end in quiet hours to the next morning', async () => {
    const seeded = await seedCustomer(db, storeId, { window: { start: '09:00', end: '23:00' } });
    await db.consent.create({ data: { customerId: seeded.customerId, channel: 'sms', purpose: 'marketing', granted: true, source: 'api-key:test' } });
    const lateEvening = new Date('2026-05-06T14:00:00Z'); // 22:00 in Shanghai: service hours for this customer
    for (let i = 0; i < 3; i += 1) {
      await activities({ now: () => new Date(lateEvening.getTime() + i * 60_000) }).sendMessage(thankYou(seeded.deliveryId));
    }

    const result = await activities({ now: () => new Date('2026-05-07T02:00:00Z') }).sendMessage(offer(seeded.deliveryId)); // 10:00

    // Room again at 22:00, after marketing hours: so 08:00 the day after.
    expect(result).toMatchObject({ status: 'deferred', reason: 'frequency-cap', notBefore: '2026-05-08T00:00:00.000Z' });
  });

  it('lets only one of two simultaneous sends take the last place', async () => {
    const { deliveryId } = await customerWithMarketingConsent();
    for (let i = 0; i < 2; i += 1) await activities({ now: minutesLater(i) }).sendMessage(offer(deliveryId));

    const results = await Promise.all([0, 1, 2].map(() => activities({ now: minutesLater(5) }).sendMessage(offer(deliveryId))));

    expect(results.map((r) => r.status).sort()).toEqual(['deferred', 'deferred', 'sent']);
  });
});
