import type { MessageStatus } from './delivery-status';

/**
 * What the send activity needs from a channel. Implementations: Twilio or the outbox for SMS,
 * SMTP for email. The idempotency key is handed to the provider where it supports one.
 */
export interface OutboundMessage {
  to: string;
  subject?: string;
  body: string;
  html?: string;
  idempotencyKey: string;
  purpose: 'service' | 'marketing';
  /** Whose message it is: the unsubscribe link of a marketing email names the customer. */
  customerId: string;
  /** Where the provider reports delivery receipts. */
  statusCallbackUrl?: string;
}

/** The provider took the message ("sent"); it may still report delivered/undelivered later. */
export interface SendResult {
  providerId: string;
}

/** A message the provider already has, with its delivery status in our terms. */
export interface FoundMessage {
  providerId: string;
  status: MessageStatus;
  errorCode?: string;
}

/** A message the provider may already have accepted from an attempt whose answer was lost. */
export interface SentMessageQuery {
  to: string;
  body: string;
  /** The first attempt was made after this instant. */
  since: Date;
}

export interface Transport {
  readonly name: 'twilio' | 'smtp' | 'outbox';
  send(message: OutboundMessage): Promise<SendResult>;
  /**
   * Messages matching the query, newest first. Only providers that can list what they accepted
   * have it; the activity asks before sending again after an unfinished attempt.
   */
  findSent?(query: SentMessageQuery): Promise<FoundMessage[]>;
  /**
   * With `findSent`: how long after a send starts the provider may still accept its request, though
   * our client gave up waiting (its timeout plus a margin). Until then, not finding the message does
   * not mean it was never sent.
   */
  readonly acceptanceWindowMs?: number;
  close?(): Promise<void>;
}

/**
 * A permanent refusal: retrying cannot help, the data (number, address, consent) or the setup must
 * change. Messages carry codes and reasons only, never the provider's text, which can quote the
 * recipient: they end up in Temporal's history and in logs.
 */
export class PermanentSendError extends Error {
  override name = 'PermanentSendError';
  constructor(
    message: string,
    readonly reason: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A temporary failure (throttling, provider down, network): the activity's retry policy tries again. */
export class RetryableSendError extends Error {
  override name = 'RetryableSendError';
  /**
   * True when the provider certainly did not take the message (a 429, a refused connection):
   * the next attempt can send at once. Otherwise it may have been sent and the answer lost.
   */
  readonly notAccepted: boolean;
  /**
   * True when the provider answered (with an error): the request is over, so a look-up sees all it
   * took. False after a timeout or a dropped connection: the request may still be accepted later.
   */
  readonly answered: boolean;
  readonly code?: string;

  constructor(message: string, readonly reason: string, opts: { notAccepted: boolean; answered: boolean; code?: string }) {
    super(message);
    this.notAccepted = opts.notAccepted;
    this.answered = opts.answered;
    this.code = opts.code;
  }
}

/**
 * With no SMS provider configured, SMS are kept in the messages table (transport "outbox") for
 * the API to list: the default run needs no account anywhere.
 */
export function createOutboxTransport(): Transport {
  return {
    name: 'outbox',
    send: async (message) => ({ providerId: `outbox:${message.idempotencyKey}` }),
  };
}
