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
  /** Where the provider reports delivery receipts. */
  statusCallbackUrl?: string;
  headers?: Record<string, string>;
}

export interface SendResult {
  providerId: string;
  /** "sent" when handed over; a provider may still report delivered/undelivered later. */
  status: 'queued' | 'sent';
}

export interface Transport {
  readonly name: 'twilio' | 'smtp' | 'outbox';
  send(message: OutboundMessage): Promise<SendResult>;
  close?(): Promise<void>;
}

/** A permanent refusal: retrying cannot help, the data (number, address, consent) must change. */
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

/**
 * With no SMS provider configured, SMS are kept in the messages table (transport "outbox") for
 * the API to list: the default run needs no account anywhere.
 */
export function createOutboxTransport(): Transport {
  return {
    name: 'outbox',
    send: async (message) => ({ providerId: `outbox:${message.idempotencyKey}`, status: 'sent' }),
  };
}
