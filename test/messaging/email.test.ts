import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createMessagingActivities, type SendMessageInput, type SendMessageResult } from '../../src/activities/messaging';
import type { Db } from '../../src/db/client';
import { createSmtpTransport } from '../../src/messaging/smtp';
import { createOutboxTransport, type Transport } from '../../src/messaging/transports';
import { unsubscribeLinks } from '../../src/messaging/unsubscribe';
import { createTestDatabase } from '../helpers/db';
import { type Api, buildApi, PUBLIC_BASE_URL, recordingTemporal, seedCustomer, seedStore, silentLogger, zoneWhereItIsNoon } from './fixtures';
import { recordingCaseWorkflows } from '../helpers/case-workflows';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

/** A real SMTP server that keeps what it receives, and refuses recipients on demand. */
interface Inbox {
  server: SMTPServer;
  url: string;
  received: string[];
  refuseNext: { code: number } | null;
}

async function startInbox(): Promise<Inbox> {
  const inbox: Inbox = { server: undefined as unknown as SMTPServer, url: '', received: [], refuseNext: null };
  inbox.server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      const refusal = inbox.refuseNext;
      inbox.refuseNext = null;
      if (refusal) return callback(Object.assign(new Error(`${refusal.code} refused <someone@example.com>`), { responseCode: refusal.code }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        inbox.received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => inbox.server.listen(0, '127.0.0.1', resolve));
  inbox.url = `smtp://127.0.0.1:${(inbox.server.server.address() as AddressInfo).port}`;
  return inbox;
}

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let inbox: Inbox;
let smtp: Transport;
let api: Api;
let storeId: string;

beforeAll(async () => {
  [t, inbox] = await Promise.all([createTestDatabase(), startInbox()]);
  db = t.db;
  api = await buildApi(db, recordingTemporal().client);
  // Signed as the worker would sign them with the same configuration as the API.
  smtp = createSmtpTransport({ url: inbox.url, from: 'Huifang <noreply@huifang.example>', unsubscribe: unsubscribeLinks(api.config) });
  storeId = (await seedStore(db, { timeZone: zoneWhereItIsNoon() })).store.id;
  await db.messageTemplate.create({
    data: {
      storeId, key: 'spring-offer', locale: 'zh-CN', channel: 'email', purpose: 'marketing', subject: '{{storeName}}春季保养八折',
      body: '{{customerName}}您好，春季保养八折。', html: '<p>{{customerName}}您好，<b>春季保养八折</b>。</p>', variables: ['storeName', 'customerName'],
    },
  });
});

afterAll(async () => {
  await smtp?.close?.();
  await api?.close();
  await new Promise<void>((resolve) => (inbox ? inbox.server.close(() => resolve()) : resolve()));
  await t?.drop();
});

function send(input: SendMessageInput): Promise<SendMessageResult> {
  const { sendMessage } = createMessagingActivities({ db, sms: createOutboxTransport(), email: smtp, publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger, ...recordingCaseWorkflows() });
  return new MockActivityEnvironment().run<[SendMessageInput], SendMessageResult, typeof sendMessage>(sendMessage, input);
}

const email = (deliveryId: string, templateKey: string, purpose: SendMessageInput['purpose']): SendMessageInput =>
  ({ idempotencyKey: `wf:${deliveryId}:${templateKey}`, deliveryId, templateKey, channel: 'email', purpose });

async function marketingCustomer() {
  const customer = await seedCustomer(db, storeId, { email: `wang.${Date.now()}@example.com` });
  await db.consent.create({ data: { customerId: customer.customerId, channel: 'email', purpose: 'marketing', granted: true, source: 'api-key:test' } });
  return customer;
}

describe('email over a real SMTP server', () => {
  it('sends marketing mail as text and HTML with a one-click List-Unsubscribe', async () => {
    const { deliveryId, customerId } = await marketingCustomer();

    expect((await send(email(deliveryId, 'spring-offer', 'marketing'))).status).toBe('sent');

    const raw = inbox.received.at(-1)!;
    const mail = await simpleParser(raw);
    expect(raw).toMatch(/Content-Type: multipart\/alternative/i);
    expect(mail.text?.trim()).toBe('王女士您好，春季保养八折。');
    expect(mail.html).toContain('<b>春季保养八折</b>');
    expect(mail.subject).toMatch(/春季保养八折$/);
    const unfolded = raw.replace(/\r?\n[ \t]+/g, ' ');
    expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const unsubscribe = /^List-Unsubscribe: <([^>]+)>/im.exec(unfolded)?.[1];
    expect(unsubscribe).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/v1/unsubscribe\\?token=${customerId}\\.`));
    expect(mail.messageId).toBe(`<wf:${deliveryId}:spring-offer@huifang>`.replace(/:/g, '.'));
  });

  it('sends service mail without List-Unsubscribe: it is not a subscription', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { email: 'li@example.com' });

    expect((await send(email(deliveryId, 'delivery-thank-you', 'service'))).status).toBe('sent');

    const raw = inbox.received.at(-1)!;
    const mail = await simpleParser(raw);
    expect(raw).toMatch(/Content-Type: multipart\/alternative/i);
    expect(mail.html).toContain('<p>');
    expect(raw).not.toMatch(/^List-Unsubscribe/im);
  });

  it('lets the one-click POST from the header unsubscribe the customer from marketing email only', async () => {
    const { deliveryId, customerId } = await marketingCustomer();
    await send(email(deliveryId, 'spring-offer', 'marketing'));
    const link = /^List-Unsubscribe: <([^>]+)>/im.exec(inbox.received.at(-1)!.replace(/\r?\n[ \t]+/g, ' '))![1]!;
    const path = link.slice(PUBLIC_BASE_URL.length);

    const page = await api.request('GET', path);
    const oneClick = await api.request('POST', path, { body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });

    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(oneClick.statusCode).toBe(200);
    const consents = await db.consent.findMany({ where: { customerId } });
    expect(consents.map((c) => `${c.channel}:${c.purpose}:${c.granted}:${c.source}`)).toEqual(['email:marketing:false:unsubscribe-link']);
    const next = await send({ ...email(deliveryId, 'spring-offer', 'marketing'), idempotencyKey: `${deliveryId}:next` });
    expect(next).toMatchObject({ status: 'suppressed', reason: 'no consent' });
  });

  it('does not unsubscribe anyone on opening the link, nor with a forged token', async () => {
    const { customerId } = await marketingCustomer();
    const forged = `${customerId}.${'A'.repeat(43)}`;

    const opened = await api.request('GET', unsubscribeLinks(api.config).url(customerId).slice(PUBLIC_BASE_URL.length));
    const forgedPost = await api.request('POST', `/v1/unsubscribe?token=${encodeURIComponent(forged)}`);

    expect(opened.statusCode).toBe(200);
    expect(forgedPost.statusCode).toBe(400);
    expect((await db.consent.findMany({ where: { customerId } })).map((c) => c.granted)).toEqual([true]);
  });

  it('fails for good on a 5xx refusal and opens a data-fix task, without the address in the error', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { email: 'gone@example.com' });
    inbox.refuseNext = { code: 550 };

    const error = await send(email(deliveryId, 'delivery-thank-you', 'service')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ nonRetryable: true, type: 'MessageRejected', message: 'SMTP refused the message (550)' });
    const row = await db.message.findFirstOrThrow({ where: { deliveryId }, include: { cases: true } });
    expect(row).toMatchObject({ status: 'failed', errorCode: '550' });
    expect(row.cases).toEqual([expect.objectContaining({ reason: 'data-fix' })]);
  });

  it('retries a 4xx refusal, and the retry sends it once', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { email: 'busy@example.com' });
    inbox.refuseNext = { code: 451 };
    const before = inbox.received.length;

    const error = await send(email(deliveryId, 'delivery-thank-you', 'service')).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RetryableSendError', notAccepted: true });
    expect((await db.message.findFirstOrThrow({ where: { deliveryId } })).status).toBe('queued');

    expect((await send(email(deliveryId, 'delivery-thank-you', 'service'))).status).toBe('sent');
    expect(inbox.received.length).toBe(before + 1);
  });
});
