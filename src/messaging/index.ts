import type { Config } from '../config';
import { createSmtpTransport } from './smtp';
import { createOutboxTransport, Transport } from './transports';

/** The transports this configuration asks for: Twilio when configured, else the outbox; SMTP for email. */
export function createTransports(config: Config): { sms: Transport; email: Transport } {
  const smtpUrl = config.SMTP_URL ?? `smtp://127.0.0.1:${config.MAILDEV_SMTP_PORT}`;
  return {
    sms: createOutboxTransport(),
    email: createSmtpTransport({ url: smtpUrl, from: config.SMTP_FROM }),
  };
}
