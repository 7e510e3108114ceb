import nodemailer from 'nodemailer';
import { PermanentSendError, Transport } from './transports';

/**
 * Email over SMTP with a pooled connection. SMTP has no idempotency token, so the Message-ID is
 * derived from our idempotency key: a retry after a crash can reach the server twice, but
 * receiving systems and our own bounce handling see one message identity.
 */
export function createSmtpTransport(opts: { url: string; from: string }): Transport {
  const mailer = nodemailer.createTransport(opts.url.includes('?') ? `${opts.url}&pool=true` : `${opts.url}?pool=true`);
  return {
    name: 'smtp',
    async send(message) {
      try {
        const info = await mailer.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.body,
          html: message.html,
          messageId: `<${message.idempotencyKey.replace(/[^\w.-]/g, '.')}@huifang>`,
          headers: message.headers,
        });
        return { providerId: info.messageId, status: 'sent' };
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        // 5xx SMTP replies are permanent (unknown mailbox, policy); 4xx and network errors are not.
        if (code && code >= 500) throw new PermanentSendError(`SMTP refused the message (${code})`, 'rejected', String(code));
        throw err;
      }
    },
    close: async () => mailer.close(),
  };
}
