import twilio from 'twilio';
import { classifyTwilioError } from '../../src/messaging/twilio-errors';
import { createTwilioTransport } from '../../src/messaging/twilio';
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

function thankYouSms(): SendSmsRequest {
  return {
    to: '+8613800138000',
    from: '+15005550006',
    body: '感谢您选择我们',
    statusCallback: 'https://huifang.example/webhooks/twilio/status',
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

    const sent = await sendSms(client, thankYouSms());

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
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
  });

  it('survives two rate-limit answers and delivers the message exactly once', async () => {
    const before = mock.delivered();
    mock.failNext(2, 429);

    const sent = await sendWithRetries(thankYouSms(), 5);

    expect(sent.sid).toMatch(MESSAGE_SID);
    expect(messageCreates()).toHaveLength(3);
    expect(mock.delivered()).toBe(before + 1);
  });

  it('classifies the injected rate limit as Twilio error 20429, retryable', async () => {
    mock.failNext(1, 429);

    const error = await sendSms(client, thankYouSms()).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toEqual({ retryable: true, reason: 'rate-limited', code: 20429, status: 429 });
  });

  it('stops at once on a permanent failure such as an opted-out recipient', async () => {
    const before = mock.delivered();
    mock.failNext(1, 400, 21610);

    const error = await sendWithRetries(thankYouSms(), 5).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toMatchObject({ retryable: false, reason: 'opted-out' });
    expect(messageCreates()).toHaveLength(1);
    expect(mock.delivered()).toBe(before);
  });

  it('ignores an idempotency header, as Twilio\'s Messages API does: the same request twice is two messages', async () => {
    const before = mock.delivered();
    const post = () => fetch(`${mock.baseUrl}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'i-twilio-idempotency-token': 'thank-you-replayed',
      },
      body: new URLSearchParams({ To: '+8613800138000', From: '+15005550006', Body: '感谢您选择我们' }),
    }).then(async (res) => ({ status: res.status, sid: ((await res.json()) as { sid: string }).sid }));

    const [first, second] = [await post(), await post()];

    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.sid).not.toBe(first.sid);
    expect(mock.delivered()).toBe(before + 2);
  });

  it('accepts a request after the client gave up on it, as a slow provider can', async () => {
    const impatient = createTwilioClient(mock.baseUrl, ACCOUNT_SID, AUTH_TOKEN, { timeoutMs: 300 });
    const before = mock.delivered();
    mock.delayNextRequest(800);

    const error = await sendSms(impatient, thankYouSms()).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toMatchObject({ retryable: true, reason: 'network' });
    expect(mock.delivered()).toBe(before);
    await mock.idle();
    expect(mock.delivered()).toBe(before + 1);
    const listed = await client.messages.list({ to: '+8613800138000', limit: 1 });
    expect(listed[0]?.sid).toBe(mock.accepted().at(-1)?.sid);
  });

  it('can lose an answer: the message is accepted, the client sees a dropped connection', async () => {
    const before = mock.delivered();
    mock.loseNextAnswer();

    const error = await sendSms(client, thankYouSms()).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toMatchObject({ retryable: true, reason: 'network' });
    expect(mock.delivered()).toBe(before + 1);
  });

  it('can send through a messaging service instead of a sender number', async () => {
    const { from: _from, ...request } = thankYouSms();

    await sendSms(client, { ...request, messagingServiceSid: `MG${'0123456789abcdef'.repeat(2)}` });

    const [sent] = messageCreates();
    expect(sent?.form).toMatchObject({ MessagingServiceSid: `MG${'0123456789abcdef'.repeat(2)}` });
    expect(sent?.form).not.toHaveProperty('From');
  });

  it('refuses a transport on a client whose request timeout it cannot know', () => {
    expect(() => createTwilioTransport({ client: twilio(ACCOUNT_SID, AUTH_TOKEN), from: '+15005550006' })).toThrow('createTwilioClient');
  });

  it('turns a server error into a retryable provider failure', async () => {
    mock.failNext(1, 500);

    const error = await sendSms(client, thankYouSms()).catch((e: unknown) => e);

    expect(classifyTwilioError(error)).toEqual({
      retryable: true,
      reason: 'provider-unavailable',
      code: 20500,
      status: 500,
    });
  });
});
