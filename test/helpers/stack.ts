import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiKey, createStore } from '../../src/services/stores';
import { createDb } from '../../src/db/client';
import { freeStackPorts, Stack, StackOptions } from '../../src/stack';

/**
 * The real product for end-to-end tests: embedded PostgreSQL, Temporal dev server, MailDev, worker
 * and API as child processes on free ports, in a temporary data folder. Service output goes to
 * `<dataDir>/stack.log` (printed by the test when something fails).
 */
export async function startTestStack(opts: { dataDir?: string; env?: Record<string, string>; skip?: StackOptions['skip'] } = {}): Promise<Stack> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'huifang-e2e-'));
  const stack = new Stack({
    dataDir,
    env: { ...process.env, LOG_LEVEL: 'info', TEMPORAL_TASK_QUEUE: `e2e-${path.basename(dataDir)}`, ...opts.env },
    ports: await freeStackPorts(),
    headless: true,
    output: { file: path.join(dataDir, 'stack.log') },
    skip: opts.skip,
  });
  try {
    await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/** A store with the default plan and an admin key, written straight to the stack's database. */
export async function seedStore(stack: Stack, storeId: string, timeZone = 'Asia/Shanghai'): Promise<{ key: string }> {
  const db = createDb(stack.env.DATABASE_URL!, 2);
  try {
    await createStore(db, { id: storeId, name: `测试店 ${storeId}`, timeZone, serviceHotline: '400-800-8888' }, 'test');
    return { key: (await createApiKey(db, { name: 'e2e', role: 'admin', storeId: null })).key };
  } finally {
    await db.$disconnect();
  }
}

export function api(stack: Stack, key: string) {
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, body?: unknown, headers?: Record<string, string>) => call('POST', url, body ?? {}, headers),
    put: (url: string, body: unknown) => call('PUT', url, body),
    patch: (url: string, body: unknown) => call('PATCH', url, body),
  };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
