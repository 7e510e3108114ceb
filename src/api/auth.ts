import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client';
import { readRows } from '../db/raw';
import { Prisma } from '../generated/prisma/client';
import { type Action, type Actor, type ApiKeyActor, can, reachesStore, storeIdsOf, storesFor } from '../services/access';
import { SESSION_TOKEN_PREFIX, staffActorFor } from '../services/sessions';
import { hashApiKey } from '../services/stores';
import { forbidden, HttpError, notFound } from '../services/errors';

export type { Actor, ApiKeyActor, StaffActor } from '../services/access';

/**
 * Who is asking: an API key (the DMS integration, admins) or a signed-in staff member (a session
 * cookie from the console, or a session token as a bearer for scripts). Every handler reaches data
 * through the actor and src/services/access.ts.
 */
declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
    /** a staff member whose password an admin reset may call it (to change the password) */
    beforePasswordChange?: boolean;
  }
}

export const SESSION_COOKIE = 'hf_session';

/** The session cookie's value, if the request carries one. */
export function sessionCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

function presentedCredential(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey.trim();
  return sessionCookie(req);
}

export function registerAuth(app: FastifyInstance, db: Db): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config.public) return;
    const credential = presentedCredential(req);
    if (!credential) throw new HttpError(401, 'Unauthorized', 'sign in, or send an API key or session token as "Authorization: Bearer <token>"');
    if (credential.startsWith(SESSION_TOKEN_PREFIX)) {
      const staff = await staffActorFor(db, credential);
      if (!staff) throw new HttpError(401, 'Unauthorized', 'the session has ended: sign in again');
      if (staff.mustChangePassword && !req.routeOptions.config.beforePasswordChange) {
        throw new HttpError(403, 'PasswordChangeRequired', 'change the temporary password first (POST /v1/auth/password)');
      }
      req.actor = staff;
      return;
    }
    // Every keyed request reads it: straight to the pool (src/db/raw.ts), not through Prisma's pipeline.
    const [found] = await readRows<{ id: string; role: string; storeId: string | null; revokedAt: Date | null }>(db,
      Prisma.sql`SELECT id::text AS id, role, "storeId", "revokedAt" FROM "ApiKey" WHERE "keyHash" = ${hashApiKey(credential)}`, { prepared: 'api-key' });
    if (!found || found.revokedAt) throw new HttpError(401, 'Unauthorized', 'unknown or revoked API key');
    req.actor = { kind: 'api-key', id: found.id, role: found.role === 'admin' ? 'admin' : 'integration', storeId: found.storeId };
  });
}

/** The actor of an authenticated route (the hook guarantees it). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new HttpError(401, 'Unauthorized', 'not authenticated');
  return req.actor;
}

/** A store outside the actor's reach: 403 for a key (its scope is no secret), 404 for staff. */
export function assertStoreAccess(actor: Actor, storeId: string): void {
  if (reachesStore(actor, storeId)) return;
  if (actor.kind === 'api-key') throw forbidden(`this key is scoped to store ${actor.storeId}`);
  throw notFound(`store ${storeId}`);
}

export function assertAdmin(actor: Actor): asserts actor is ApiKeyActor {
  if (actor.kind !== 'api-key' || actor.role !== 'admin') throw forbidden('this needs an admin key');
}

/** The store in reach (else 404/403 as assertStoreAccess), and the actor's role there may do `action` (else 403). */
export function assertCan(actor: Actor, action: Action, storeId: string): void {
  assertStoreAccess(actor, storeId);
  if (!can(actor, action, storeId)) throw forbidden(`your role at store ${storeId} may not do this (${action})`);
}

/** Routes for machines only (the DMS and mail systems), never a staff session. */
export function assertApiKey(actor: Actor): void {
  if (actor.kind !== 'api-key') throw forbidden('this needs an API key');
}

/** A where-clause fragment limiting a list to the stores the actor reaches (or the one requested). */
export function storeScope(actor: Actor, requested?: string): { storeId?: string | { in: string[] } } {
  if (requested) {
    assertStoreAccess(actor, requested);
    return { storeId: requested };
  }
  const stores = storeIdsOf(actor);
  if (stores === null) return {};
  return stores.length === 1 ? { storeId: stores[0] } : { storeId: { in: stores } };
}

/**
 * Like storeScope, for a store-level action (reading the audit log, store KPIs): the stores where
 * the actor may do it, a 404 for a store out of reach, a 403 when the role may not.
 */
export function actionScope(actor: Actor, action: Action, requested?: string): { storeId?: string | { in: string[] } } {
  const allowed = storesFor(actor, action);
  if (requested) {
    assertStoreAccess(actor, requested);
    if (allowed !== null && !allowed.includes(requested)) throw forbidden(`your role at store ${requested} may not do this (${action})`);
    return { storeId: requested };
  }
  if (allowed === null) return {};
  if (allowed.length === 0) throw forbidden(`your role may not do this (${action})`);
  return allowed.length === 1 ? { storeId: allowed[0] } : { storeId: { in: allowed } };
}

/** "api-key:<id>" or "staff:<login id>": who changed a record, in the records that say so. */
export const actorLabel = (actor: Actor) => `${actor.kind}:${actor.id}`;
