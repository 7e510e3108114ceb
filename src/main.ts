import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApiKey, createStore, hashApiKey } from './services/stores';
import { loadConfig } from './config';
import { createDb } from './db/client';
import { Stack } from './stack';

/**
 * `npm start`: the whole product on embedded defaults (or on whatever the configuration points
 * at), with readable logs. A crashed service is started again; Ctrl-C, or SIGINT/SIGTERM to this
 * process (`npm start` execs it, so npm's PID is this one's parent and passes signals on), stops
 * every process cleanly; the data stays in DATA_DIR.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<string, number> = { postgres: 34, temporal: 35, maildev: 36, worker: 33, api: 32 };

let stopping = false;

/** Our processes log JSON (pino); shown here as one readable line each. */
function printLine(service: string, line: string): void {
  // While it shuts down, the dev server complains about every connection the others close.
  if (stopping && service === 'temporal') return;
  let text = line;
  if (line.startsWith('{')) {
    try {
      const { level, time, msg, pid: _pid, hostname: _host, name: _name, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
      text = `${LEVELS[level as number] ?? level} ${msg ?? ''} ${extra}`.trim();
      void time;
    } catch {
      // not JSON after all: print as is
    }
  }
  process.stdout.write(`\x1b[${COLORS[service] ?? 37}m${service.padEnd(8)}\x1b[0m ${text}\n`);
}

/** A first run gets a demo store and an admin key, kept (in clear) only in DATA_DIR for local use. */
async function ensureDevAccess(databaseUrl: string, dataDir: string): Promise<string | null> {
  const db = createDb(databaseUrl, 2);
  const keyFile = path.join(dataDir, 'dev-api-key');
  try {
    if (existsSync(keyFile)) {
      const key = readFileSync(keyFile, 'utf8').trim();
      if (await db.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } })) return key;
    }
    if ((await db.apiKey.count()) > 0) return null; // real keys exist: do not mint a dev key
    if (!(await db.store.findUnique({ where: { id: 'demo' } }))) {
      await createStore(db, { id: 'demo', name: '演示店 Demo Store', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-8888' }, 'npm start');
    }
    const { key } = await createApiKey(db, { name: 'local development (npm start)', role: 'admin', storeId: null });
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    return key;
  } finally {
    await db.$disconnect();
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const started = Date.now();
  const stack = new Stack({
    dataDir: config.DATA_DIR,
    env: { ...process.env, LOG_LEVEL: config.LOG_LEVEL },
    ports: {
      postgres: config.EMBEDDED_PG_PORT, temporal: config.TEMPORAL_DEV_PORT, temporalUi: config.TEMPORAL_UI_PORT,
      smtp: config.MAILDEV_SMTP_PORT, smtpWeb: config.MAILDEV_WEB_PORT, api: config.API_PORT,
    },
    output: { line: printLine },
    // A service that dies on its own is started again (with back-off) rather than ending the product.
    supervise: true,
  });
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping Huifang...\n');
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    await stack.start();
  } catch (err) {
    process.stderr.write(`could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
    return;
  }
  const key = await ensureDevAccess(stack.env.DATABASE_URL!, config.DATA_DIR);
  const embedded = (external: string | undefined, local: string) => (external ? `${external} (external)` : local);
  process.stdout.write([
    '',
    `Huifang is up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `  API            http://${config.API_HOST}:${config.API_PORT}   (docs: /docs, OpenAPI: /openapi.json)`,
    `  Temporal       ${embedded(config.TEMPORAL_ADDRESS, `127.0.0.1:${config.TEMPORAL_DEV_PORT}, Web UI http://127.0.0.1:${config.TEMPORAL_UI_PORT}`)}`,
    `  PostgreSQL     ${config.DATABASE_URL ? 'DATABASE_URL (external)' : `127.0.0.1:${config.EMBEDDED_PG_PORT}, data in ${path.join(config.DATA_DIR, 'postgres')}`}`,
    `  Mail           ${embedded(config.SMTP_URL, `SMTP 127.0.0.1:${config.MAILDEV_SMTP_PORT}, inbox http://127.0.0.1:${config.MAILDEV_WEB_PORT}`)}`,
    `  SMS            ${config.twilioEnabled ? 'Twilio' : 'outbox (GET /v1/messages?transport=outbox)'}`,
    key ? `  API key        ${key}   (store "demo"; kept in ${path.join(config.DATA_DIR, 'dev-api-key')})` : '  API key        issue one with npm run admin -- create-api-key',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
}

void main();
