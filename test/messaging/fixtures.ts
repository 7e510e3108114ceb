import { createHmac, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { FastifyPluginAsync } from 'fastify';
import { consentRoutes } from '../../src/api/routes/consents';
import { templateRoutes } from '../../src/api/routes/templates';
import { webhookRoutes } from '../../src/api/routes/webhooks';
import { buildServer } from '../../src/api/server';
import { createApiKey, createStore } from '../../src/services/stores';
import { type Config, parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import { createLogger } from '../../src/logger';

/** Test data for messaging: a store with its people, and customers with a delivered car each. */
export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const AUTH_TOKEN = 'test-auth-token-0123456789';
export const PUBLIC_BASE_URL = 'https://huifang.example';
/** A public https deployment must sign unsubscribe links with its own secret. */
const UNSUBSCRIBE_SECRET = 'test-unsubscribe-secret-0123456789abcdef';

export const silentLogger = createLogger({ name: 'test', level: 'silent' });

export async function seedStore(db: Db, opts: { id?: string; timeZone?: string; serviceHotline?: string | null } = {}) {
  const id = opts.id ?? `store-${randomUUID().slice(0, 8)}`;
  const store = await createStore(db, { id, name: `汇方汽车${id}`, timeZone: opts.timeZone ?? 'Asia/Shanghai', serviceHotline: opts.serviceHotline ?? '400-800-1234' }, 'test');
  const consultant = await db.staff.create({ data: { storeId: id, externalId: `c-${id}`, name: '李明', role: 'consultant', phone: '+8613900001111' } });
  const cr = await db.staff.create({ data: { storeId: id, externalId: `cr-${id}`, name: '赵敏', role: 'cr_specialist' } });
  return { store, consultant, cr };
}

export interface SeededCustomer {
  customerId: string;
  deliveryId: string;
  workflowId: string;
  phone: string;
}

let vinCounter = 0;

export async function seedCustomer(
  db: Db,
  storeId: string,
  opts: { phone?: string; email?: string; locale?: string; window?: { start: string; end: string }; deliveredAt?: Date } = {},
): Promise<SeededCustomer> {
  const consultant = await db.staff.findFirstOrThrow({ where: { storeId, role: 'consultant' } });
  const phone = opts.phone ?? `+86138${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const customer = await db.customer.create({
    data: {
      storeId, externalId: randomUUID(), name: '王女士', phone, email: opts.email, locale: opts.locale ?? 'zh-CN',
      contactWindowStart: opts.window?.start ?? '09:00', contactWindowEnd: opts.window?.end ?? '20:00',
    },
  });
  vinCounter += 1;
  const vehicle = await db.vehicle.create({ data: { storeId, vin: `LSVAU2180N${String(vinCounter).padStart(7, '0')}`, model: 'Model Y' } });
  const workflowId = `vehicle-${storeId}-${vehicle.vin}`;
  const delivery = await db.delivery.create({
    data: { storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: consultant.id, deliveredAt: opts.deliveredAt ?? new Date(), workflowId },
  });
  return { customerId: customer.id, deliveryId: delivery.id, workflowId, phone };
}

/** Twilio's documented algorithm, written out here so the test does not trust the code under test. */
export function twilioSignature(url: string, params: Record<string, string>, authToken = AUTH_TOKEN): string {
  const payload = Object.keys(params).sort().reduce((signed, name) => signed + name + params[name], url);
  return createHmac('sha1', authToken).update(Buffer.from(payload, 'utf-8')).digest('base64');
}

export const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

export interface SentSignal {
  workflowId: string;
  name: string;
  arg: unknown;
}

/** An update the API sent, with its ID (a redelivered webhook must send the same one). */
export interface SentUpdate {
  workflowId: string;
  name: string;
  arg: unknown;
  updateId?: string;
}

/**
 * A Temporal client for API tests without a server: it records workflow starts, signals and
 * updates, and accepts every update (`executeUpdate` answers as a task's update does: recorded on
 * time; the tests using it are about who may ask, not what the workflow records); workflows listed
 * as closed answer as Temporal does. A query fails (no workflow runs); a store's digest schedule is
 * kept in step without one.
 */
export function recordingTemporal(closed: ReadonlySet<string> = new Set()): { client: Client; signals: SentSignal[]; updates: SentUpdate[]; started: string[] } {
  const signals: SentSignal[] = [];
  const updates: SentUpdate[] = [];
  const started: string[] = [];
  const notFound = (workflowId: string) => new WorkflowNotFoundError('workflow execution already completed', workflowId, undefined);
  const client = {
    // The API gives each request's Temporal calls a deadline; this client answers at once.
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      start: async (_type: string, opts: { workflowId: string }) => {
        started.push(opts.workflowId);
        return { workflowId: opts.workflowId };
      },
      getHandle: (workflowId: string) => ({
        signal: async (name: string, arg: unknown) => {
          if (closed.has(workflowId)) throw notFound(workflowId);
          signals.push({ workflowId, name, arg });
        },
        startUpdate: async (def: { name: string }, opts: { args: unknown[]; updateId?: string }) => {
          if (closed.has(workflowId)) throw notFound(workflowId);
          updates.push({ workflowId, name: def.name, arg: opts.args[0], updateId: opts.updateId });
          return { updateId: opts.updateId, result: async () => undefined };
        },
        executeUpdate: async (def: { name: string }, opts: { args: unknown[]; updateId?: string }) => {
          if (closed.has(workflowId)) throw notFound(workflowId);
          updates.push({ workflowId, name: def.name, arg: opts.args[0], updateId: opts.updateId });
          return { status: 'done_on_time', upcoming: [] };
        },
        query: async () => {
          throw new Error('no workflow in this test');
        },
      }),
    },
    schedule: { getHandle: () => ({ update: async () => undefined }) },
  } as unknown as Client;
  return { client, signals, updates, started };
}

export interface Api {
  baseUrl: string;
  config: Config;
  request(method: string, path: string, opts?: { body?: string | object; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  statusCode: number;
  contentType: string;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The real API server with the messaging routes, on a real socket (light-my-request, behind
 * app.inject, is ES-only and cannot load under Jest on Node 20; test files stub the docs UI for the
 * same reason). The routes are registered here unless server.ts already does it.
 */
export async function buildApi(db: Db, temporal: Client, env: Record<string, string> = {}): Promise<Api> {
  const config = parseConfig({
    LOG_LEVEL: 'silent', TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_FROM: '+15005550006', PUBLIC_BASE_URL, UNSUBSCRIBE_SECRET, ...env,
  });
  const deps = { config, db, temporal };
  const app = await buildServer(deps, { logLevel: 'silent' });
  const plugins: [string, string, FastifyPluginAsync<typeof deps>][] = [
    ['POST', '/v1/webhooks/twilio/status', webhookRoutes as FastifyPluginAsync<typeof deps>],
    ['GET', '/v1/customers/:id/consents', consentRoutes as FastifyPluginAsync<typeof deps>],
    ['GET', '/v1/stores/:storeId/templates', templateRoutes as FastifyPluginAsync<typeof deps>],
  ];
  for (const [method, url, plugin] of plugins) {
    if (!app.hasRoute({ method: method as 'GET' | 'POST', url })) await app.register(plugin, deps);
  }
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    baseUrl,
    config,
    async request(method, path, opts = {}) {
      const { body: payload } = opts;
      const json = typeof payload === 'object';
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(json && { 'content-type': 'application/json' }), ...opts.headers },
        body: typeof payload === 'object' ? JSON.stringify(payload) : payload,
      });
      const body = await res.text();
      return { statusCode: res.status, contentType: res.headers.get('content-type') ?? '', body, json: () => JSON.parse(body) };
    },
    close: () => app.close(),
  };
}

export async function adminKey(db: Db, storeId: string | null = null): Promise<string> {
  return (await createApiKey(db, { name: 'test', role: 'admin', storeId })).key;
}

/** A fixed-offset zone where it is about noon now, so a test sending "now" is inside every window. */
export function zoneWhereItIsNoon(now = new Date()): string {
  const offset = 12 - now.getUTCHours();
  // Etc/GMT zones count the other way round: Etc/GMT-8 is UTC+8.
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
