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

/** Query parameters that carry secrets (unsubscribe tokens, keys, signatures): masked in any logged text. */
const SECRET_QUERY = /([?&][^=&\s]*(?:token|secret|signature|password|key)[^=&\s]*=)[^&\s#]*/gi;

export function redactQuery(text: string): string {
  return text.replace(SECRET_QUERY, '$1[redacted]');
}

const redaction = {
  redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  // Messages too: Fastify writes URLs into some (e.g. "Route GET:/v1/...?token=... not found").
  hooks: {
    logMethod(this: pino.Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
      method.apply(this, args.map((a: unknown) => (typeof a === 'string' ? redactQuery(a) : a)) as Parameters<pino.LogFn>);
    },
  },
};

export function createLogger(opts: { name: string; level?: string }) {
  return pino({ name: opts.name, level: opts.level ?? 'info', ...redaction });
}

/** The API's (Fastify's) logger options: the same redaction, and request URLs with their secrets masked. */
export function httpLoggerOptions(level: string) {
  return {
    level,
    ...redaction,
    serializers: {
      req: (req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method, url: redactQuery(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
      }),
    },
  };
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
