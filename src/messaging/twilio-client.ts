import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message';

export type TwilioClient = twilio.Twilio;

const TWILIO_API_ORIGIN = 'https://api.twilio.com';

/** Sends the SDK's requests to `baseUrl` instead of api.twilio.com (a local mock in tests). */
class HuifangRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string | undefined,
    readonly timeoutMs: number,
  ) {
    super({ timeout: timeoutMs });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: this.redirect(opts.uri) });
  }

  private redirect(uri: string): string {
    const url = new URL(uri);
    if (!this.baseUrl || url.origin !== TWILIO_API_ORIGIN) return uri;
    return this.baseUrl.replace(/\/+$/, '') + url.pathname + url.search;
  }
}

/**
 * Long enough for a slow answer, well inside the send activity's start-to-close timeout, so a hung
 * request fails the attempt (and the retry looks for the message) instead of the timeout killing it.
 */
const DEFAULT_TWILIO_TIMEOUT_MS = 15_000;

/** A Twilio client; production passes no base URL and talks to the real API. */
export function createTwilioClient(
  baseUrl: string | undefined,
  accountSid: string,
  authToken: string,
  opts: { timeoutMs?: number } = {},
): TwilioClient {
  return twilio(accountSid, authToken, { httpClient: new HuifangRequestClient(baseUrl, opts.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS) });
}

/** How long one request of this client may take before it gives up waiting for the answer. */
export function requestTimeoutMs(client: TwilioClient): number {
  if (!(client.httpClient instanceof HuifangRequestClient)) {
    throw new Error('a Twilio client from createTwilioClient is needed: its request timeout must be known');
  }
  return client.httpClient.timeoutMs;
}

export interface SendSmsRequest {
  to: string;
  /** A sender number; give this or `messagingServiceSid`. */
  from?: string;
  messagingServiceSid?: string;
  body: string;
  statusCallback: string;
}

export interface SentSms {
  sid: string;
  status: MessageInstance['status'];
}

/**
 * Creates one outbound SMS. Twilio's Messages API has no idempotency key: every call that reaches
 * it is a new message. Failures surface as the SDK's errors; classify them with classifyTwilioError.
 */
export async function sendSms(client: TwilioClient, request: SendSmsRequest): Promise<SentSms> {
  if (!request.from && !request.messagingServiceSid) {
    throw new Error('sendSms needs a sender: from or messagingServiceSid');
  }
  const message = await client.messages.create({
    to: request.to,
    body: request.body,
    statusCallback: request.statusCallback,
    ...(request.from && { from: request.from }),
    ...(request.messagingServiceSid && { messagingServiceSid: request.messagingServiceSid }),
  });
  return { sid: message.sid, status: message.status };
}
