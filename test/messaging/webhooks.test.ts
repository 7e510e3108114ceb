import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import {
  adminKey, type Api, buildApi, form, PUBLIC_BASE_URL, recordingTemporal, seedCustomer, seedStore, type SentSignal, type SentUpdate, twilioSignature,
} from './fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let app: Api;
let signals: SentSignal[];
let updates: SentUpdate[];
const closedWorkflows = new Set<string>();
let storeId: string;
let crId: string;
let key: string;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  const temporal = recordingTemporal(closedWorkflows);
  signals = temporal.signals;
  updates = temporal.updates;
  app = await buildApi(db, temporal.client);
  const seeded = await seedStore(db, { serviceHotline: '400-800-1234' });
  storeId = seeded.store.id;
  crId = seeded.cr.id;
  key = await adminKey(db);
});

afterAll(async () => {
  await app?.close();
  await t?.drop();
});

beforeEach(() => {
  signals.length = 0;
  updates.length = 0;
});

const STATUS = '/v1/webhooks/twilio/status';
const INBOUND = '/v1/webhooks/twilio/inbound';

/** A webhook as Twilio posts it: form-encoded, signed over the public URL. */
function twilioPost(path: string, params: Record<string, string>, signature: string | null = twilioSignature(`${PUBLIC_BASE_URL}${path}`, params)) {
  return app.request('POST', path, {
    body: form(params),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature !== null && { 'x-twilio-signature': signature }) },
  });
}

const sid = () => `SM${randomUUID().replace(/-/g, '')}`;

async function sentMessage(customer: { customerId: string; deliveryId: string }, providerId = sid()) {
  return db.message.create({
    data: {
      storeId, customerId: customer.customerId, deliveryId: customer.deliveryId, idempotencyKey: randomUUID(), channel: 'sms', purpose: 'service',
      templateKey: 'delivery-thank-you', locale: 'zh-CN', transport: 'twilio', toAddress: '+8613800000000', body: '…', status: 'sent', providerId, sentAt: new Date(),
    },
  });
}

describe('Twilio webhook signatures', () => {
  const receipt = { MessageSid: 'SMforged', MessageStatus: 'delivered', AccountSid: 'AC123' };

  it.each([
    ['a valid signature', 204, () => twilioSignature(`${PUBLIC_BASE_URL}${STATUS}`, receipt)],
    ['a signature made with another auth token', 403, () => twilioSignature(`${PUBLIC_BASE_URL}${STATUS}`, receipt, 'not-our-token')],
    ['a signature over another URL', 403, () => twilioSignature(`https://attacker.example${STATUS}`, receipt)],
    ['a signature of other parameters', 403, () => twilioSignature(`${PUBLIC_BASE_URL}${STATUS}`, { ...receipt, MessageStatus: 'failed' })],
    ['no signature', 403, () => null],
  ])('the status callback answers %s with %i', async (_name, expected, signature) => {
    const res = await twilioPost(STATUS, receipt, signature());
    expect(res.statusCode).toBe(expected);
  });

  it('rejects a forged inbound opt-in before touching anything', async () => {
    const customer = await seedCustomer(db, storeId);
    await db.consent.create({ data: { customerId: customer.customerId, channel: 'sms', purpose: 'service', granted: false, source: 'sms-keyword' } });
    const params = { MessageSid: sid(), From: customer.phone, To: '+15005550006', Body: 'START' };

    const forged = await twilioPost(INBOUND, params, twilioSignature(`${PUBLIC_BASE_URL}${INBOUND}`, { ...params, Body: 'HELLO' }));
    const unsigned = await twilioPost(INBOUND, params, null);

    expect([forged.statusCode, unsigned.statusCode]).toEqual([403, 403]);
    expect(await db.inboundMessage.count({ where: { providerId: params.MessageSid } })).toBe(0);
    expect((await db.consent.findFirstOrThrow({ where: { customerId: customer.customerId, purpose: 'service' } })).granted).toBe(false);
  });

  it('rejects everything when no Twilio auth token is configured', async () => {
    const unconfigured = await buildApi(db, recordingTemporal().client, { TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '', TWILIO_FROM: '' });
    try {
      const params = { MessageSid: 'SM1', MessageStatus: 'delivered' };
      const res = await unconfigured.request('POST', STATUS, {
        body: form(params),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(`${PUBLIC_BASE_URL}${STATUS}`, params, 'x') },
      });
      expect(res.statusCode).toBe(403);
    } finally {
      await unconfigured.close();
    }
  });
});

describe('delivery receipts', () => {
  it('move a message forward: queued, sent, delivered', async () => {
    const message = await sentMessage(await seedCustomer(db, storeId));
    for (const status of ['sent', 'delivered']) {
      expect((await twilioPost(STATUS, { MessageSid: message.providerId!, MessageStatus: status })).statusCode).toBe(204);
    }
    expect((await db.message.findUniqueOrThrow({ where: { id: message.id } })).status).toBe('delivered');
  });

  it('never move a final status back: a late "sent" or "sending" after "delivered" is ignored', async () => {
    const message = await sentMessage(await seedCustomer(db, storeId));
    for (const status of ['delivered', 'sent', 'sending', 'queued', 'undelivered']) {
      await twilioPost(STATUS, { MessageSid: message.providerId!, MessageStatus: status, ...(status === 'undelivered' && { ErrorCode: '30003' }) });
    }
    expect(await db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: 'delivered', errorCode: null });
  });

  it('record the error code of an undelivered message; a temporary one opens no task', async () => {
    const customer = await seedCustomer(db, storeId);
    const message = await sentMessage(customer);
    await twilioPost(STATUS, { MessageSid: message.providerId!, MessageStatus: 'undelivered', ErrorCode: '30003' });
    expect(await db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: 'undelivered', errorCode: '30003', errorReason: 'unreachable' });
    expect(await db.escalationCase.count({ where: { deliveryId: customer.deliveryId } })).toBe(0);
  });

  it.each(['30005', '30006'])('open a data-fix task for a permanent delivery error (%s), once however often it is reported', async (code) => {
    const customer = await seedCustomer(db, storeId);
    const message = await sentMessage(customer);
    for (let i = 0; i < 2; i += 1) await twilioPost(STATUS, { MessageSid: message.providerId!, MessageStatus: 'undelivered', ErrorCode: code });
    expect(await db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: 'undelivered', errorCode: code, errorReason: 'invalid-number' });
    const cases = await db.escalationCase.findMany({ where: { deliveryId: customer.deliveryId } });
    expect(cases).toEqual([expect.objectContaining({ reason: 'data-fix', messageId: message.id, assigneeId: crId, status: 'open' })]);
  });

  it('withdraw SMS consent when the carrier reports the number opted out (21610)', async () => {
    const customer = await seedCustomer(db, storeId);
    const message = await sentMessage(customer);
    await twilioPost(STATUS, { MessageSid: message.providerId!, MessageStatus: 'failed', ErrorCode: '21610' });
    const consents = await db.consent.findMany({ where: { customerId: customer.customerId } });
    expect(consents.map((c) => `${c.channel}:${c.purpose}:${c.granted}:${c.source}`).sort()).toEqual(['sms:marketing:false:provider-opt-out', 'sms:service:false:provider-opt-out']);
  });

  it('answer a receipt for a message we do not know without an error (Twilio would only retry it)', async () => {
    expect((await twilioPost(STATUS, { MessageSid: sid(), MessageStatus: 'delivered' })).statusCode).toBe(204);
  });
});

describe('inbound SMS', () => {
  const inbound = (from: string, body: string, messageSid = sid()) =>
    twilioPost(INBOUND, { MessageSid: messageSid, AccountSid: 'AC123', From: from, To: '+15005550006', Body: body });

  const smsConsents = async (customerId: string) =>
    Object.fromEntries((await db.consent.findMany({ where: { customerId, channel: 'sms' } })).map((c) => [c.purpose, [c.granted, c.source]]));

  it.each(['T', 'TD', 'N', 'R', '退订', 'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'stop', ' Stop! ', 'ＳＴＯＰ', 't', '退订。'])(
    'opts the customer out of SMS at once on %p', async (keyword) => {
      const customer = await seedCustomer(db, storeId);

      const res = await inbound(customer.phone, keyword);

      expect(res.statusCode).toBe(200);
      expect(res.contentType).toMatch(/text\/xml/);
      expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      expect(await smsConsents(customer.customerId)).toEqual({ service: [false, 'sms-keyword'], marketing: [false, 'sms-keyword'] });
      expect(signals.filter((s) => s.workflowId === customer.workflowId).map((s) => [s.name, s.arg])).toEqual([
        ['customerReplied', { kind: 'opt-out', messageId: expect.any(String) }],
        ['consentChanged', { channel: 'sms', purpose: 'service', granted: false }],
        ['consentChanged', { channel: 'sms', purpose: 'marketing', granted: false }],
      ]);
    },
  );

  it.each(['START', 'UNSTOP', 'start'])('opts the customer back in on %p', async (keyword) => {
    const customer = await seedCustomer(db, storeId);
    await inbound(customer.phone, 'STOP');
    await inbound(customer.phone, keyword);
    expect(await smsConsents(customer.customerId)).toEqual({ service: [true, 'sms-keyword'], marketing: [true, 'sms-keyword'] });
  });

  it('keeps a keyword inside a sentence as free text: "please don\'t stop" unsubscribes nobody', async () => {
    const customer = await seedCustomer(db, storeId);
    await inbound(customer.phone, "please don't stop");
    expect(await smsConsents(customer.customerId)).toEqual({});
  });

  it('answers HELP with the store hotline in TwiML, in the customer\'s language', async () => {
    const zh = await seedCustomer(db, storeId);
    const en = await seedCustomer(db, storeId, { locale: 'en' });

    const zhRes = await inbound(zh.phone, 'HELP');
    const enRes = await inbound(en.phone, 'help');

    expect(zhRes.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Message>【汇方汽车.*】服务热线 400-800-1234。回T退订，回START恢复接收。<\/Message><\/Response>$/);
    expect(enRes.body).toContain('service hotline: 400-800-1234. Reply STOP to opt out');
    expect(await smsConsents(zh.customerId)).toEqual({});
  });

  /** The day-7 survey of a customer's delivery, open now or completed `completedDaysAgo` days ago. */
  const surveyOf = (customer: { deliveryId: string }, opts: { stepKey?: string; completedDaysAgo?: number } = {}) => db.followUp.create({
    data: {
      storeId, deliveryId: customer.deliveryId, stepKey: opts.stepKey ?? 'cr-satisfaction-call-day-7', kind: 'call', role: 'cr_specialist', channel: 'phone', survey: true,
      checklist: [],
      ...(opts.completedDaysAgo === undefined
        ? { dueStart: new Date(Date.now() - 3_600_000), dueEnd: new Date(Date.now() + 86_400_000) }
        : { status: 'done_on_time', completedAt: new Date(Date.now() - opts.completedDaysAgo * 86_400_000), dueStart: new Date(Date.now() - (opts.completedDaysAgo + 1) * 86_400_000), dueEnd: new Date() }),
    },
  });

  it('hands a digit answering an open survey to the vehicle\'s workflow as its score, writing no score or case itself', async () => {
    const customer = await seedCustomer(db, storeId);
    const survey = await surveyOf(customer);

    await inbound(customer.phone, '５');

    const inboundRow = await db.inboundMessage.findFirstOrThrow({ where: { customerId: customer.customerId } });
    expect(inboundRow).toMatchObject({ kind: 'csat', followUpId: survey.id });
    expect(updates).toEqual([{
      workflowId: customer.workflowId, name: 'recordAnswer', updateId: `inbound-${inboundRow.id}`,
      arg: { kind: 'score', stepKey: survey.stepKey, channel: 'sms', csat: 5, answeredAt: inboundRow.receivedAt.toISOString(), inboundMessageId: inboundRow.id },
    }]);
    // The workflow is the one writer of the follow-up: the webhook leaves it as it was.
    expect((await db.followUp.findUniqueOrThrow({ where: { id: survey.id } })).csat).toBeNull();
    expect(await db.escalationCase.count({ where: { deliveryId: customer.deliveryId } })).toBe(0);
    expect(signals.map((s) => s.arg)).toEqual([{ kind: 'csat', messageId: inboundRow.id }]);
  });

  it('hands a low score for a survey completed in the last 7 days to the workflow too (it opens the case)', async () => {
    const customer = await seedCustomer(db, storeId);
    const survey = await surveyOf(customer, { completedDaysAgo: 2 });

    await inbound(customer.phone, '2');

    expect(updates.map((u) => u.arg)).toEqual([expect.objectContaining({ kind: 'score', stepKey: survey.stepKey, csat: 2 })]);
    expect(await db.escalationCase.count({ where: { deliveryId: customer.deliveryId } })).toBe(0);
  });

  it('treats a digit with no survey in the last 7 days as the customer writing back', async () => {
    const customer = await seedCustomer(db, storeId);
    await surveyOf(customer, { stepKey: 'old-survey', completedDaysAgo: 10 });

    await inbound(customer.phone, '4');

    expect(updates.map((u) => u.arg)).toEqual([expect.objectContaining({ kind: 'reply', channel: 'sms' })]);
  });

  it('hands anything else to the workflow as a reply for CR staff, keeping what the customer wrote', async () => {
    const customer = await seedCustomer(db, storeId);

    await inbound(customer.phone, '车子仪表盘有个灯一直亮着');

    const inboundRow = await db.inboundMessage.findFirstOrThrow({ where: { customerId: customer.customerId } });
    expect(inboundRow).toMatchObject({ body: '车子仪表盘有个灯一直亮着', kind: 'free-text' });
    expect(updates).toEqual([{
      workflowId: customer.workflowId, name: 'recordAnswer', updateId: `inbound-${inboundRow.id}`,
      arg: { kind: 'reply', channel: 'sms', answeredAt: inboundRow.receivedAt.toISOString(), inboundMessageId: inboundRow.id },
    }]);
    expect(await db.escalationCase.count({ where: { deliveryId: customer.deliveryId } })).toBe(0);
    expect(signals).toEqual([{ workflowId: customer.workflowId, name: 'customerReplied', arg: { kind: 'free-text', messageId: inboundRow.id } }]);
  });

  it('applies an opt-out to every store the number is a customer of', async () => {
    const other = (await seedStore(db)).store.id;
    const here = await seedCustomer(db, storeId);
    const there = await seedCustomer(db, other, { phone: here.phone });

    await inbound(here.phone.replace('+86', ''), 'TD'); // an 11-digit mainland number, as some gateways send it

    for (const customer of [here, there]) {
      expect(await smsConsents(customer.customerId)).toEqual({ service: [false, 'sms-keyword'], marketing: [false, 'sms-keyword'] });
    }
    expect(new Set(signals.map((s) => s.workflowId))).toEqual(new Set([here.workflowId, there.workflowId]));
    expect(await db.inboundMessage.count({ where: { fromAddress: here.phone } })).toBe(2);
  });

  it('changes nothing when Twilio delivers the same webhook again, even twice at once', async () => {
    const customer = await seedCustomer(db, storeId);
    const messageSid = sid();

    const deliveries = await Promise.all([1, 2, 3].map(() => inbound(customer.phone, '有人吗', messageSid)));
    await inbound(customer.phone, '有人吗', messageSid);

    expect(deliveries.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(await db.inboundMessage.count({ where: { providerId: messageSid } })).toBe(1);
    // Each delivery asks the workflow again, always with the same update ID: Temporal keeps one.
    expect(new Set(updates.map((u) => u.updateId)).size).toBe(1);
    expect(signals).toHaveLength(1);
  });

  it('finishes the stores it had not reached when a redelivery follows a partial failure', async () => {
    const other = (await seedStore(db)).store.id;
    const here = await seedCustomer(db, storeId);
    const there = await seedCustomer(db, other, { phone: here.phone });
    const messageSid = sid();
    // As if the first delivery had recorded this store and then failed before the other.
    await db.inboundMessage.create({ data: { storeId, customerId: here.customerId, channel: 'sms', providerId: messageSid, fromAddress: here.phone, toAddress: '+15005550006', body: 'STOP', kind: 'opt-out' } });

    await inbound(here.phone, 'STOP', messageSid);

    expect(await smsConsents(there.customerId)).toEqual({ service: [false, 'sms-keyword'], marketing: [false, 'sms-keyword'] });
    expect(await db.inboundMessage.count({ where: { providerId: messageSid } })).toBe(2);
  });

  it('records a message from an unknown number without a customer', async () => {
    const messageSid = sid();
    expect((await inbound('+8613312345678', 'STOP', messageSid)).statusCode).toBe(200);
    expect(await db.inboundMessage.findFirst({ where: { providerId: messageSid } })).toMatchObject({ customerId: null, storeId: null, kind: 'opt-out' });
  });

  it('still records the opt-out and answers 200 when the workflow has already closed', async () => {
    const customer = await seedCustomer(db, storeId);
    closedWorkflows.add(customer.workflowId);

    const res = await inbound(customer.phone, '退订');

    expect(res.statusCode).toBe(200);
    expect(await smsConsents(customer.customerId)).toEqual({ service: [false, 'sms-keyword'], marketing: [false, 'sms-keyword'] });
  });
});

describe('email bounces', () => {
  const bounce = (payload: object, apiKey: string | null = key) =>
    app.request('POST', '/v1/webhooks/email/bounce', { body: payload, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });

  async function sentEmail(customer: { customerId: string; deliveryId: string }) {
    return db.message.create({
      data: {
        storeId, customerId: customer.customerId, deliveryId: customer.deliveryId, idempotencyKey: randomUUID(), channel: 'email', purpose: 'service',
        templateKey: 'delivery-thank-you', locale: 'zh-CN', transport: 'smtp', toAddress: 'wang@example.com', subject: 's', body: 'b', status: 'sent',
        providerId: `<${randomUUID()}@huifang>`, sentAt: new Date(),
      },
    });
  }

  it('needs an API key', async () => {
    expect((await bounce({ messageId: randomUUID(), type: 'hard' }, null)).statusCode).toBe(401);
  });

  it('fails the message on a hard bounce, withdraws email consent and opens a data-fix task', async () => {
    const customer = await seedCustomer(db, storeId, { email: 'wang@example.com' });
    const message = await sentEmail(customer);

    const res = await bounce({ providerId: message.providerId!.slice(1, -1), type: 'hard', diagnostic: '550 5.1.1 <wang@example.com>: Recipient address rejected' });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ messageId: message.id, status: 'failed', caseId: expect.any(String) });
    const row = await db.message.findUniqueOrThrow({ where: { id: message.id } });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'hard-bounce' });
    expect(row.errorReason).toBe('hard bounce: 550 5.1.1 <[address]>: Recipient address rejected');
    const consents = await db.consent.findMany({ where: { customerId: customer.customerId } });
    expect(consents.map((c) => `${c.channel}:${c.purpose}:${c.granted}:${c.source}`).sort()).toEqual(['email:marketing:false:bounced', 'email:service:false:bounced']);
    expect(await db.escalationCase.findMany({ where: { messageId: message.id } })).toEqual([expect.objectContaining({ reason: 'data-fix', assigneeId: crId })]);
    expect(signals.map((s) => s.arg)).toEqual([
      { channel: 'email', purpose: 'service', granted: false },
      { channel: 'email', purpose: 'marketing', granted: false },
    ]);
  });

  it('only records a soft bounce', async () => {
    const customer = await seedCustomer(db, storeId, { email: 'wang@example.com' });
    const message = await sentEmail(customer);

    const res = await bounce({ messageId: message.id, type: 'soft', diagnostic: '452 mailbox full' });

    expect(res.json()).toMatchObject({ status: 'sent', caseId: null });
    expect(await db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: 'sent', errorCode: 'soft-bounce', errorReason: 'soft bounce: 452 mailbox full' });
    expect(await db.consent.count({ where: { customerId: customer.customerId } })).toBe(0);
    expect(await db.escalationCase.count({ where: { messageId: message.id } })).toBe(0);
  });

  it('says which field is missing, and does not find another store\'s message for a store key', async () => {
    const res = await bounce({ type: 'hard' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].field).toBe('messageId');

    const other = (await seedStore(db)).store.id;
    const message = await sentEmail(await seedCustomer(db, storeId));
    expect((await bounce({ messageId: message.id, type: 'hard' }, await adminKey(db, other))).statusCode).toBe(404);
  });
});
