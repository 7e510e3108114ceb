import twilio from 'twilio';
import { classifyTwilioError } from '../../src/messaging/twilio-errors';
import { createTwilioClient, sendSms, type SendSmsRequest, type TwilioClient } from '../../src/messaging/twilio-client';
import { startTwilioMock, type TwilioMock } from '../helpers/twilio-mock';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'test-auth-token';
const MESSAGE_SID = /^SM[0-9a-f]{32}$/;

let mock: TwilioMock;
let client: TwilioClient;

beforeAll(async () => {
  mock = await startTwilioMock();
  client = createTwilioClient(mock.baseUrl, ACCOUNT_SID, AUTH_TOKEN);
});

afterAll(async () => {
  await mock?.stop();
});

beforeEach(() => {
  mock.requests.length = 0;
});

function thankYouSms(idempotencyToken: string): SendSmsRequest {
  return {
    to: '+8613800138000',
    from: '+15005550006',
    body: '感谢您选择我们',
    statusCallback: 'https://huifang.example/webhooks/twilio/status',
    idempotencyToken,
  };
}

/** What a Temporal activity retry policy does, squeezed into a loop. */
async function sendWithRetries(request: SendSmsRequest, maxAttempts: number) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await sendSms(client, request);
    } catch (error) {
      if (!classifyTwilioError(error).retryable || attempt === maxAttempts) throw error;
    }
  }
}

const messageCreates = () => mock.requests.filter((request) => request.path.endsWith('/Messages.json'));

describe('sending an SMS through the Twilio mock', () => {
  it('is accepted with a 201 and a realistic message SID', async () => {
    const before = mock.delivered();

    const sent = await sendSms(client, thankYouSms('thank-you-1'));

    expect(sent.sid).toMatch(MESSAGE_SID);
    expect(sent.status).toBe('queued');
    expect(mock.delivered()).toBe(before + 1);
    const [request] = messageCreates();
    expect(request).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
      form: {
        To: '+8613800138000',
        From: '+15005550006',
        Body: '感谢您选择我们',
        StatusCallback: 'https://huifang.example/webhooks/twilio/status',
      },
    });
    expect(request?.headers['i-twilio-idempotency-token']).toBe('thank-you-1');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
  });

  it('survives two rate-limit answers and delivers the message exactly once', async () => {
    const before = mock.delivered();
    mock.failNext(2, 429);

    const sent = await sendWithRetries(thankYouSms('thank-you-429'), 5);

    expect(sent.sid).toMatch(MESSAGE_SID);
    expect(messageCreates()).toHaveLength(3);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('classifies the injected rate limit as Twilio error 20429, retryable', async () => {
    mock.failNext(1, 429);

    const error = await sendSms(client, thankYouSms('thank-you-429-once')).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toEqual({ retryable: true, reason: 'rate-limited', code: 20429, status: 429 });
  });

  it('stops at once on a permanent failure such as an opted-out recipient', async () => {
    const before = mock.delivered();
    mock.failNext(1, 400, 21610);

    const error = await sendWithRetries(thankYouSms('thank-you-opted-out'), 5).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toMatchObject({ retryable: false, reason: 'opted-out' });
    expect(messageCreates()).toHaveLength(1);
    expect(mock.delivered()).toBe(before);
  });

  it('answers a repeated idempotency token with the first message instead of sending again', async () => {
    const before = mock.delivered();

    const first = await sendSms(client, thankYouSms('thank-you-replayed'));
    const second = await sendSms(client, thankYouSms('thank-you-replayed'));

    expect(second.sid).toBe(first.sid);
    expect(messageCreates()).toHaveLength(2);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('sends a concurrent duplicate of the same token only once', async () => {
    const before = mock.delivered();

    const [first, second] = await Promise.all([
      sendSms(client, thankYouSms('thank-you-concurrent')),
      sendSms(client, thankYouSms('thank-you-concurrent')),
    ]);

    expect(second.sid).toBe(first.sid);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('treats a different token as a different message', async () => {
    const first = await sendSms(client, thankYouSms('thank-you-a'));
    const second = await sendSms(client, thankYouSms('thank-you-b'));

    expect(second.sid).not.toBe(first.sid);
  });

  it('can send through a messaging service instead of a sender number', async () => {
    const { from: _from, ...request } = thankYouSms('thank-you-via-service');

    await sendSms(client, { ...request, messagingServiceSid: `MG${'0123456789abcdef'.repeat(2)}` });

    const [sent] = messageCreates();
    expect(sent?.form).toMatchObject({ MessagingServiceSid: `MG${'0123456789abcdef'.repeat(2)}` });
    expect(sent?.form).not.toHaveProperty('From');
  });

  it('refuses a client that could not carry the idempotency token', async () => {
    const plainClient = twilio(ACCOUNT_SID, AUTH_TOKEN);

    await expect(sendSms(plainClient, thankYouSms('thank-you-plain'))).rejects.toThrow('createTwilioClient');
    expect(messageCreates()).toHaveLength(0);
  });

  it('turns a server error into a retryable provider failure', async () => {
    mock.failNext(1, 500);

    const error = await sendSms(client, thankYouSms('thank-you-500')).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toEqual({
      retryable: true,
      reason: 'provider-unavailable',
      code: 20500,
      status: 500,
    });
  });
});
