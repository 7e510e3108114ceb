import nodemailer from 'nodemailer';
import { PermanentSendError, RetryableSendError, type Transport } from './transports';
import type { UnsubscribeLinks } from './unsubscribe';

/**
 * Email over SMTP with a pooled connection, as text plus HTML when the template has HTML.
 * Marketing mail carries List-Unsubscribe with one-click POST (RFC 8058), as mailbox providers
 * require of bulk senders; service mail does not, it is not a subscription.
 *
 * SMTP has no idempotency token, so the Message-ID is derived from our idempotency key: a retry
 * after a crash can reach the server twice, but receiving systems and our own bounce handling see
 * one message identity.
 */
export function createSmtpTransport(opts: { url: string; from: string; unsubscribe: UnsubscribeLinks }): Transport {
  const mailer = nodemailer.createTransport(opts.url.includes('?') ? `${opts.url}&pool=true` : `${opts.url}?pool=true`);
  return {
    name: 'smtp',
    async send(message) {
      const headers: Record<string, string> = message.purpose === 'marketing'
        ? { 'List-Unsubscribe': `<${opts.unsubscribe.url(message.customerId)}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : {};
      try {
        const info = await mailer.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.body,
          html: message.html,
          messageId: `<${message.idempotencyKey.replace(/[^\w.-]/g, '.')}@huifang>`,
          headers,
        });
        return { providerId: info.messageId };
      } catch (err) {
        throw sendError(err);
      }
    },
    close: async () => mailer.close(),
  };
}

/** Codes only: an SMTP reply often quotes the recipient's address, which must not reach logs. */
function sendError(err: unknown): Error {
  const { responseCode, code } = err as { responseCode?: number; code?: string };
  const detail = responseCode ?? code ?? 'unknown';
  // 5xx replies are permanent (unknown mailbox, policy); 4xx and network errors are not.
  if (responseCode && responseCode >= 500) return new PermanentSendError(`SMTP refused the message (${detail})`, 'rejected', String(responseCode));
  // A 4xx reply is a refusal for now: the server did not take the message. A dropped connection
  // may have come after the server took it, so it counts as "may have been sent".
  const notAccepted = responseCode !== undefined && responseCode >= 400;
  return new RetryableSendError(`SMTP send failed (${detail})`, 'smtp-unavailable', { notAccepted, answered: responseCode !== undefined, code: String(detail) });
}
