import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { boundedDateTime } from '../../domain/dates';
import { safeText } from '../../domain/text';
import type { Prisma } from '../../generated/prisma/client';
import { AUDIT_ENTITIES } from '../../services/audit';
import { actionScope, actorOf } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/** The largest id PostgreSQL's bigint holds: a cursor beyond it names no row. */
const MAX_ID = 2n ** 63n - 1n;

const AuditRowSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({ kind: z.enum(['staff', 'api-key', 'system']), id: z.string().nullable() }),
  action: z.string(),
  entity: z.string(),
  entityId: z.string(),
  storeId: z.string().nullable(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  reason: z.string().nullable(),
});

export const auditRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  /**
   * A person acts signed in (the log names their login) or is named on a task (their Staff row, one
   * per store and role): either ID finds all of it.
   */
  async function samePerson(actorId: string): Promise<string[]> {
    if (!z.uuid().safeParse(actorId).success) return [actorId];
    const row = await db.staff.findUnique({ where: { id: actorId }, select: { loginId: true } });
    // A staff row's login; else the ID is a login's (or a key's, which no staff row names).
    const login = row ? row.loginId : actorId;
    if (!login) return [actorId];
    const rows = await db.staff.findMany({ where: { loginId: login }, select: { id: true } });
    return [...new Set([actorId, login, ...rows.map((r) => r.id)])];
  }

  app.get('/v1/audit', {
    schema: {
      tags: ['audit'],
      summary: 'The audit log, newest first: every change to tasks, cases, customers, consents, plans, templates, staff, keys and stores, with who made it and the record before and after',
      querystring: z.object({
        storeId: StoreIdSchema.optional(),
        entity: z.enum(AUDIT_ENTITIES).optional().describe('the kind of record'),
        entityId: safeText(100).optional().describe('one record (with entity)'),
        actorId: safeText(100).optional().describe('who made the changes: an API key\'s ID, or a person\'s (their login or any of their staff rows)'),
        from: boundedDateTime().optional().describe('changes at or after this time'),
        to: boundedDateTime().optional().describe('changes before this time'),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().refine((v) => /^[1-9][0-9]{0,18}$/.test(v) && BigInt(v) <= MAX_ID, 'the nextCursor of the previous page').optional(),
      }),
      response: { 200: z.object({ entries: z.array(AuditRowSchema), nextCursor: z.string().nullable() }), 403: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const q = req.query;
    if (q.entityId && !q.entity) throw badRequest('entity', 'name the kind of record with its entityId');
    if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to)) throw badRequest('to', 'must be after from');
    const where: Prisma.AuditLogWhereInput = {
      // Admin keys, and the managers of a store or group (src/services/access.ts); nothing in the API edits it.
      ...actionScope(actor, 'audit.read', q.storeId),
      ...(q.entity ? { entity: q.entity } : {}),
      ...(q.entityId ? { entityId: q.entityId } : {}),
      ...(q.actorId ? { actorId: { in: await samePerson(q.actorId) } } : {}),
      ...(q.from || q.to ? { at: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) } } : {}),
      // Keyset on the id, newest first: stable while rows are appended.
      ...(q.cursor ? { id: { lt: BigInt(q.cursor) } } : {}),
    };
    const rows = await db.auditLog.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return {
      entries: page.map((r) => ({
        id: r.id.toString(), at: r.at.toISOString(), actor: { kind: r.actorKind as 'staff' | 'api-key' | 'system', id: r.actorId },
        action: r.action, entity: r.entity, entityId: r.entityId, storeId: r.storeId, before: r.before, after: r.after, reason: r.reason,
      })),
      nextCursor: rows.length > q.limit ? page[page.length - 1].id.toString() : null,
    };
  });
};
