import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * One-click unsubscribe links for marketing email (RFC 8058): the token names the customer and is
 * signed, so nobody can unsubscribe someone else by guessing. Tokens do not expire: a link in an
 * old mail must still work.
 */
export const UNSUBSCRIBE_PATH = '/v1/unsubscribe';

// Only for local runs; src/config.ts requires UNSUBSCRIBE_SECRET once messages or the API leave this machine.
const DEVELOPMENT_SECRET = 'huifang-development-unsubscribe-secret-not-for-production';

export interface UnsubscribeLinks {
  url(customerId: string): string;
  /** The customer a token was issued for, or null when it is malformed or not ours. */
  verify(token: string): string | null;
}

export function unsubscribeLinks(config: { PUBLIC_BASE_URL: string; UNSUBSCRIBE_SECRET?: string }): UnsubscribeLinks {
  const secret = config.UNSUBSCRIBE_SECRET ?? DEVELOPMENT_SECRET;
  const sign = (customerId: string) => createHmac('sha256', secret).update(`unsubscribe:email:marketing:${customerId}`).digest('base64url');
  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return {
    url: (customerId) => `${base}${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(`${customerId}.${sign(customerId)}`)}`,
    verify(token) {
      const dot = token.lastIndexOf('.');
      if (dot <= 0) return null;
      const customerId = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1));
      const expected = Buffer.from(sign(customerId));
      return given.length === expected.length && timingSafeEqual(given, expected) ? customerId : null;
    },
  };
}
