import path from 'node:path';
import { z } from 'zod';

/**
 * The one validated configuration for every process (worker, API, `npm start`, tests).
 * Unset optional services mean "use the embedded default", which `npm start` provides.
 */
const ROOT = path.resolve(__dirname, '..');

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);
/** localhost, 127.0.0.0/8 and ::1: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i.test(host);
}
const loopbackUrl = (value: string) => isLoopback(new URL(value).hostname);

const url = (protocols: string[]) =>
  z.url().refine((v) => protocols.some((p) => v.startsWith(`${p}:`)), {
    message: `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`,
  });

export const ConfigSchema = z
  .object({
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATA_DIR: z.string().min(1).default(path.join(ROOT, '.data')),

    DATABASE_URL: url(['postgres', 'postgresql']).optional(),
    EMBEDDED_PG_PORT: port.default(54329),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    /** Deadlines on every database call: waiting for a connection, and one statement (src/db/client.ts). */
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),

    TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port').optional(),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('huifang'),
    TEMPORAL_TLS: bool.default(false),
    TEMPORAL_TLS_CERT_PATH: z.string().optional(),
    TEMPORAL_TLS_KEY_PATH: z.string().optional(),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    TEMPORAL_DEV_PORT: port.default(7233),
    /** How long an API request waits for Temporal (start, query, update, signal) before answering 503. */
    TEMPORAL_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /** Busy workflows kept in the worker's memory; sleeping ones are replayed from history when they wake. */
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(10_000).default(100),
    TEMPORAL_UI_PORT: port.default(8233),
    /** host:port where the worker serves the Temporal SDK's Prometheus metrics (`/metrics`); unset, none. */
    WORKER_METRICS_ADDRESS: z.string().regex(/^[\w.:[\]-]+:\d+$/, 'must be host:port').optional(),
    /** host:port where the API serves its Prometheus metrics (`/metrics`), apart from the API's own port; unset, none. */
    API_METRICS_ADDRESS: z.string().regex(/^[\w.:[\]-]+:\d+$/, 'must be host:port').optional(),
    /** OpenTelemetry tracing to this OTLP/HTTP collector (the exporter also reads the other OTEL_EXPORTER_OTLP_* variables); unset, off. */
    OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https']).optional(),

    API_HOST: z.string().min(1).default('127.0.0.1'),
    API_PORT: port.default(3000),
    PUBLIC_BASE_URL: url(['http', 'https']).optional(),

    SMTP_URL: url(['smtp', 'smtps']).optional(),
    SMTP_FROM: z.string().min(3).default('Huifang <noreply@huifang.local>'),
    MAILDEV_SMTP_PORT: port.default(1025),
    MAILDEV_WEB_PORT: port.default(1080),

    TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits').optional(),
    TWILIO_AUTH_TOKEN: z.string().min(8).optional(),
    TWILIO_FROM: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number').optional(),
    TWILIO_MESSAGING_SERVICE_SID: z.string().regex(/^MG[0-9a-fA-F]{32}$/).optional(),
    TWILIO_API_BASE_URL: url(['http', 'https']).optional(),

    MESSAGE_CAP_PER_DAY: z.coerce.number().int().min(1).max(50).default(3),
    /**
     * The SMS provider's rate for all workers together (src/messaging/pace.ts), in SMS_RATE_COUNTS per
     * second; a burst of due reminders drains at this pace instead of meeting 429s.
     */
    SMS_RATE_PER_SECOND: z.coerce.number().min(0.1).max(10_000).default(10),
    /** "segments" where the provider throttles by billed segment (a 2-part SMS costs 2), else "messages". */
    SMS_RATE_COUNTS: z.enum(['segments', 'messages']).default('segments'),
    /** Sends one worker runs at once on the messaging task queue: each holds its slot while it waits for the pace. */
    MESSAGING_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(20),
    /** The oldest delivery the API accepts (a DMS catching up); older ones are a 400 naming deliveredAt. */
    DELIVERY_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    UNSUBSCRIBE_SECRET: z.string().min(32, 'at least 32 random characters').optional(),
  })
  .superRefine((c, ctx) => {
    const twilio = [c.TWILIO_ACCOUNT_SID, c.TWILIO_AUTH_TOKEN];
    if (twilio.some(Boolean) && !twilio.every(Boolean)) {
      ctx.addIssue({ code: 'custom', path: [c.TWILIO_ACCOUNT_SID ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'], message: 'Twilio needs both account SID and auth token' });
    }
    if (c.TWILIO_ACCOUNT_SID && !c.TWILIO_FROM && !c.TWILIO_MESSAGING_SERVICE_SID) {
      ctx.addIssue({ code: 'custom', path: ['TWILIO_FROM'], message: 'set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID' });
    }
    // The built-in development secret is public: it may sign links only while nothing leaves this machine.
    const reachesOut = [
      !isLoopback(c.API_HOST) && 'API_HOST',
      c.PUBLIC_BASE_URL && !loopbackUrl(c.PUBLIC_BASE_URL) && 'PUBLIC_BASE_URL',
      c.SMTP_URL && !loopbackUrl(c.SMTP_URL) && 'SMTP_URL',
      c.TWILIO_ACCOUNT_SID && !(c.TWILIO_API_BASE_URL && loopbackUrl(c.TWILIO_API_BASE_URL)) && 'TWILIO_ACCOUNT_SID',
    ].filter(Boolean);
    if (reachesOut.length > 0 && !c.UNSUBSCRIBE_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['UNSUBSCRIBE_SECRET'], message: `required with ${reachesOut.join(', ')} (messages or the API reach beyond this machine): set 32+ random characters` });
    }
    if (Boolean(c.TEMPORAL_TLS_CERT_PATH) !== Boolean(c.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_KEY_PATH'], message: 'mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH' });
    }
  })
  .transform((c) => ({
    ...c,
    PUBLIC_BASE_URL: c.PUBLIC_BASE_URL ?? `http://${c.API_HOST}:${c.API_PORT}`,
    twilioEnabled: Boolean(c.TWILIO_ACCOUNT_SID),
  }));

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, as shells and .env files commonly leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = ConfigSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
}

/** For process entry points: a wrong value stops the process with a message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  try {
    return parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
