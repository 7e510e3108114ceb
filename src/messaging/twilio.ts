import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message';
import { statusFromTwilio } from './delivery-status';
import { classifyTwilioError } from './twilio-errors';
import { requestTimeoutMs, sendSms, type TwilioClient } from './twilio-client';
import { type FoundMessage, PermanentSendError, RetryableSendError, type SentMessageQuery, type Transport } from './transports';

export interface TwilioTransportOptions {
  client: TwilioClient;
  /** A sender number; give this or `messagingServiceSid`. */
  from?: string;
  messagingServiceSid?: string;
  /** How long after our client gave up Twilio may still accept a request; tests shorten it. */
  lateAcceptanceMarginMs?: number;
}

/**
 * A request our client gave up on may still sit in a queue in front of Twilio's API and be accepted
 * after that. Twilio publishes no bound; a minute past our own timeout is our assumption.
 */
const LATE_ACCEPTANCE_MARGIN_MS = 60_000;
/** Our clock and Twilio's differ a little; a lookup reaches this far before the first attempt. */
const CLOCK_SLACK_MS = 5 * 60_000;
/** One customer gets a handful of messages a day: the newest page is plenty. */
const LOOKUP_LIMIT = 50;
// Socket errors that mean no request reached Twilio, so nothing can have been accepted.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * SMS through Twilio. Twilio's Messages API has no idempotency key (every create is a new message),
 * so the send activity asks `findSent` before sending again after an attempt whose answer was lost,
 * and keeps asking until that attempt's request can no longer be accepted.
 */
export function createTwilioTransport(opts: TwilioTransportOptions): Transport {
  return {
    name: 'twilio',
    acceptanceWindowMs: requestTimeoutMs(opts.client) + (opts.lateAcceptanceMarginMs ?? LATE_ACCEPTANCE_MARGIN_MS),

    async send(message) {
      if (!message.statusCallbackUrl) throw new PermanentSendError('a Twilio message needs a status callback URL', 'misconfigured');
      try {
        const sms = await sendSms(opts.client, {
          to: message.to,
          from: opts.from,
          messagingServiceSid: opts.messagingServiceSid,
          body: message.body,
          statusCallback: message.statusCallbackUrl,
        });
        // Twilio answers "queued" or "accepted": it has the message, which is our "sent".
        return { providerId: sms.sid };
      } catch (err) {
        throw sendError(err, 'send');
      }
    },

    async findSent(query: SentMessageQuery) {
      const after = new Date(query.since.getTime() - CLOCK_SLACK_MS);
      const sameBody = (m: MessageInstance) => m.direction.startsWith('outbound') && m.body === query.body;
      const found = (m: MessageInstance): FoundMessage => ({
        providerId: m.sid,
        status: statusFromTwilio(m.status) ?? 'sent',
        ...(m.errorCode && { errorCode: String(m.errorCode) }),
      });
      try {
        const sent = await opts.client.messages.list({ to: query.to, dateSentAfter: after, limit: LOOKUP_LIMIT });
        if (sent.some(sameBody)) return sent.filter(sameBody).map(found);
        // A message Twilio still holds in its queue (throttled, scheduled) has no date sent yet, so
        // the filter above cannot see it: look at the newest messages to the number as well.
        const recent = await opts.client.messages.list({ to: query.to, limit: LOOKUP_LIMIT });
        return recent.filter((m) => sameBody(m) && m.dateCreated.getTime() >= after.getTime()).map(found);
      } catch (err) {
        throw sendError(err, 'lookup');
      }
    },
  };
}

/** Our own error, with codes but without Twilio's text, which quotes the recipient's number. */
function sendError(err: unknown, during: 'send' | 'lookup'): Error {
  const failure = classifyTwilioError(err);
  const code = failure.code ?? failure.status;
  const what = `Twilio ${during} failed: ${failure.reason}${code === undefined ? '' : ` (${code})`}`;
  if (!failure.retryable) return new PermanentSendError(what, failure.reason, code === undefined ? undefined : String(code));
  const errno = (err as { code?: unknown }).code;
  const notAccepted = during === 'send' && (failure.status === 429 || (typeof errno === 'string' && NOT_CONNECTED.has(errno)));
  return new RetryableSendError(what, failure.reason, { notAccepted, answered: failure.status !== undefined, ...(code !== undefined && { code: String(code) }) });
}
