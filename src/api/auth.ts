import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client';
import { forbidden, HttpError } from './errors';

/**
 * Who is asking. Every handler reaches data through the actor: from day one each request is
 * authenticated and scoped to a store (or, for a group-level key, to every store).
 */
export interface Actor {
  kind: 'api-key';
  id: string;
  role: 'admin' | 'integration';
  /** null: the actor spans every store of the group */
  storeId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `hf_${randomBytes(24).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

export function registerAuth(app: FastifyInstance, db: Db): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config.public) return;
    const key = presentedKey(req);
    if (!key) throw new HttpError(401, 'Unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    const found = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } });
    if (!found || found.revokedAt) throw new HttpError(401, 'Unauthorized', 'unknown or revoked API key');
    req.actor = { kind: 'api-key', id: found.id, role: found.role === 'admin' ? 'admin' : 'integration', storeId: found.storeId };
  });
}

/** The actor of an authenticated route (the hook guarantees it). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new HttpError(401, 'Unauthorized', 'not authenticated');
  return req.actor;
}

export function assertStoreAccess(actor: Actor, storeId: string): void {
  if (actor.storeId !== null && actor.storeId !== storeId) throw forbidden(`this key is scoped to store ${actor.storeId}`);
}

export function assertAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw forbidden('this needs an admin key');
}

/** A where-clause fragment limiting a list to what the actor may see. */
export function storeScope(actor: Actor, requested?: string): { storeId?: string } {
  if (requested) {
    assertStoreAccess(actor, requested);
    return { storeId: requested };
  }
  return actor.storeId ? { storeId: actor.storeId } : {};
}
