import type { Config } from '../config';
import { createSmtpTransport } from './smtp';
import { createOutboxTransport, Transport } from './transports';
import { createTwilioTransport } from './twilio';
import { createTwilioClient } from './twilio-client';
import { unsubscribeLinks } from './unsubscribe';

/** The transports this configuration asks for: Twilio when configured, else the outbox; SMTP for email. */
export function createTransports(config: Config): { sms: Transport; email: Transport } {
  const smtpUrl = config.SMTP_URL ?? `smtp://127.0.0.1:${config.MAILDEV_SMTP_PORT}`;
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = config;
  return {
    sms: accountSid && authToken
      ? createTwilioTransport({
        client: createTwilioClient(config.TWILIO_API_BASE_URL, accountSid, authToken),
        from: config.TWILIO_FROM,
        messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID,
      })
      : createOutboxTransport(),
    email: createSmtpTransport({ url: smtpUrl, from: config.SMTP_FROM, unsubscribe: unsubscribeLinks(config) }),
  };
}
