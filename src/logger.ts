import pino from 'pino';

/**
 * Structured logs carry IDs, never personal data. These paths are redacted wherever they appear,
 * as a safety net: code should not put personal data into log objects in the first place.
 */
export const REDACTED_PATHS = [
  'phone', '*.phone', 'email', '*.email', 'name', '*.name', 'to', '*.to', 'body', '*.body',
  'customerName', '*.customerName', 'address', '*.address',
  'req.headers.authorization', 'req.headers["x-api-key"]',
];

export function createLogger(opts: { name: string; level?: string }) {
  return pino({ name: opts.name, level: opts.level ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

export type Logger = ReturnType<typeof createLogger>;

/** Masks a phone number for humans reading logs or API lists: +8613812345678 -> +86138****5678. */
export function maskPhone(phone: string): string {
  if (phone.length < 8) return '****';
  return `${phone.slice(0, phone.length - 8)}****${phone.slice(-4)}`;
}

export function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  if (!domain) return '****';
  return `${local.slice(0, 1)}***@${domain}`;
}
