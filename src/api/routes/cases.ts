import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readRows } from '../../db/raw';
import { boundedDateTime } from '../../domain/dates';
import { CaseAction, CaseActor, CONFIRMATION_CHANNELS, ROOT_CAUSES } from '../../domain/cases';
import { safeNote } from '../../domain/text';
import { Prisma } from '../../generated/prisma/client';
import { type Actor, caseSql, caseWhere, deliveryWhere } from '../../services/access';
import { openCase } from '../../services/cases';
import {
  acknowledgeCaseUpdate,
  addCaseNoteUpdate,
  caseWorkflowId,
  reassignCaseUpdate,
  reopenCaseUpdate,
  resolveCaseUpdate,
} from '../../workflows/contract';
import { actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, conflict, HttpError, notFound } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/**
 * The CR desk's cases: a list with filters (keyset pages by the running deadline), one case with
 * its whole timeline, and the desk's actions. Every action is an update on the case's workflow,
 * the one writer of its row and timeline; an Idempotency-Key makes a retried request one update.
 */
const CaseSchema = z.object({
  id: z.string(),
  storeId: z.string(),
  deliveryId: z.string(),
  reason: z.string().describe('dissatisfied | complaint | customer-reply | data-fix | manual'),
  detail: z.string().nullable(),
  status: z.string().describe('open | resolved | closed (resolved and past the reopening period)'),
  level: z.number().describe('the ladder: 1 CR specialist, 2 sales manager, 3 general manager'),
  assigneeId: z.string().nullable(),
  respondBy: z.string().nullable().describe('first-response deadline, in the store\'s working hours'),
  resolveBy: z.string().nullable(),
  dueAt: z.string().nullable().describe('the deadline now running: respondBy until acknowledged, then resolveBy'),
  overdue: z.boolean(),
  acknowledgedAt: z.string().nullable(),
  rootCause: z.string().nullable(),
  confirmedVia: z.string().nullable(),
  confirmedAt: z.string().nullable(),
  resolution: z.string().nullable(),
  openedBy: z.string(),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
});

const EventSchema = z.object({
  kind: z.string(), actor: z.string(), at: z.string(), detail: z.string().nullable(), level: z.number().nullable(),
  fromAssigneeId: z.string().nullable(), toAssigneeId: z.string().nullable(),
});

const CaseDetailSchema = CaseSchema.extend({
  customer: z.object({ id: z.string(), name: z.string(), phone: z.string() }),
  vehicle: z.object({ vin: z.string(), model: z.string() }),
  timeline: z.array(EventSchema),
});

const LIST_SELECT = {
  id: true, storeId: true, deliveryId: true, reason: true, detail: true, status: true, level: true, assigneeId: true, respondBy: true, resolveBy: true,
  dueAt: true, acknowledgedAt: true, rootCause: true, confirmedVia: true, confirmedAt: true, resolution: true, openedBy: true, createdAt: true, resolvedAt: true, closedAt: true,
} as const satisfies Prisma.EscalationCaseSelect;
type CaseRow = Prisma.EscalationCaseGetPayload<{ select: typeof LIST_SELECT }>;
/** LIST_SELECT as the columns of the case alias `c`. */
const LIST_COLUMNS = Prisma.raw(Object.keys(LIST_SELECT).map((k) => `c."${k}"`).join(', '));

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A case as the API shows it, its fields in the schema's order (the list is sent without the schema's serializer). */
function view(c: CaseRow, now: Date): z.infer<typeof CaseSchema> {
  return {
    id: c.id, storeId: c.storeId, deliveryId: c.deliveryId, reason: c.reason, detail: c.detail, status: c.status, level: c.level, assigneeId: c.assigneeId,
    respondBy: iso(c.respondBy), resolveBy: iso(c.resolveBy), dueAt: iso(c.dueAt), overdue: c.status === 'open' && c.dueAt !== null && c.dueAt < now,
    acknowledgedAt: iso(c.acknowledgedAt), rootCause: c.rootCause, confirmedVia: c.confirmedVia, confirmedAt: iso(c.confirmedAt), resolution: c.resolution,
    openedBy: c.openedBy, createdAt: c.createdAt.toISOString(), resolvedAt: iso(c.resolvedAt), closedAt: iso(c.closedAt),
  };
}

/** Who acts on the case, as its timeline and the audit log record them: the person's staff row at the case's store, or the key. */
function caseActor(actor: Actor, storeId: string): CaseActor {
  if (actor.kind === 'api-key') return { kind: 'api-key', id: actor.id };
  const member = actor.memberships.find((m) => m.storeId === storeId);
  return { kind: 'staff', id: member?.staffId ?? actor.id };
}

/** Temporal's answer to a case update, as an HTTP error a caller can act on. */
function updateError(err: unknown): never {
  if (err instanceof WorkflowNotFoundError) throw conflict('the case is closed: open a new case');
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type?.startsWith('Case')) throw conflict(cause.message);
    if (cause instanceof ActivityFailure && cause.cause instanceof ApplicationFailure && cause.cause.type === 'InvalidRequest') {
      throw badRequest('assigneeId', 'not an active staff member of the case\'s store');
    }
    if (cause instanceof ActivityFailure) throw new HttpError(503, 'Unavailable', 'the case could not be updated just now; nothing changed, try again');
  }
  throw err;
}

const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().regex(/^[\x21-\x7e]{1,200}$/, 'up to 200 visible ASCII characters, e.g. a UUID').optional().describe('makes a retried request one request') });

export const caseRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { db, temporal, config } = deps;
  const CaseParams = z.object({ id: z.uuid() });

  /** The case if the actor reaches it (else 404, never its data). */
  async function loadCase(actor: Actor, id: string) {
    const found = await db.escalationCase.findFirst({ where: { AND: [{ id }, caseWhere(actor)] }, select: LIST_SELECT });
    if (!found) throw notFound(`case ${id}`);
    return found;
  }

  async function detail(actor: Actor, id: string) {
    const c = await db.escalationCase.findFirst({
      where: { AND: [{ id }, caseWhere(actor)] },
      select: {
        ...LIST_SELECT,
        delivery: { select: { customer: { select: { id: true, name: true, phone: true } }, vehicle: { select: { vin: true, model: true } } } },
        events: { orderBy: { eventKey: 'asc' }, select: { kind: true, actor: true, at: true, detail: true, level: true, fromAssigneeId: true, toAssigneeId: true } },
      },
    });
    if (!c) throw notFound(`case ${id}`);
    const { delivery, events, ...row } = c;
    return { ...view(row, new Date()), customer: delivery.customer, vehicle: delivery.vehicle, timeline: events.map((e) => ({ ...e, at: e.at.toISOString() })) };
  }

  app.get('/v1/cases', {
    schema: {
      tags: ['cases'], summary: 'Escalation cases the caller reaches, by the running deadline (overdue first)',
      querystring: z.object({
        storeId: StoreIdSchema.optional(),
        status: z.enum(['open', 'resolved', 'closed', 'all']).default('open'),
        level: z.coerce.number().int().min(1).max(3).optional(),
        assigneeId: z.uuid().optional(),
        deliveryId: z.uuid().optional().describe('the cases of one delivery (the vehicle page)'),
        overdue: z.enum(['true', 'false']).optional().describe('true: open cases past their running deadline'),
        reason: z.enum(['dissatisfied', 'complaint', 'customer-reply', 'data-fix', 'manual']).optional(),
        openedFrom: boundedDateTime().optional(),
        openedTo: boundedDateTime().optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().max(100).optional().describe('the `nextCursor` of the previous page'),
      }),
      response: { 200: z.object({ cases: z.array(CaseSchema), nextCursor: z.string().nullable() }), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
    // The page is built from typed columns by `view`: checking 50 cases against the schema again on
    // the way out cost more CPU than the query. The schema still documents the answer.
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async (req) => {
    const q = req.query;
    const actor = actorOf(req);
    // Another store's list is not found, as its cases are.
    if (q.storeId) assertStoreAccess(actor, q.storeId);
    const now = new Date();
    // Keyset on (dueAt, id), resolved cases (no running deadline) last: stable while cases move.
    const [cursorDue, cursorId] = q.cursor?.split('_') ?? [];
    if (q.cursor && (!z.uuid().safeParse(cursorId).success || (cursorDue !== '' && Number.isNaN(Date.parse(cursorDue))))) throw badRequest('cursor', 'not a cursor this API returned');
    const overdue = Prisma.sql`(c.status = 'open' AND c."dueAt" < ${now})`;
    const where = [
      caseSql(actor),
      ...(q.storeId ? [Prisma.sql`c."storeId" = ${q.storeId}`] : []),
      ...(q.status !== 'all' ? [Prisma.sql`c.status = ${q.status}`] : []),
      ...(q.level ? [Prisma.sql`c.level = ${q.level}`] : []),
      ...(q.assigneeId ? [Prisma.sql`c."assigneeId" = ${q.assigneeId}::uuid`] : []),
      ...(q.deliveryId ? [Prisma.sql`c."deliveryId" = ${q.deliveryId}::uuid`] : []),
      ...(q.reason ? [Prisma.sql`c.reason = ${q.reason}`] : []),
      ...(q.overdue === 'true' ? [overdue] : q.overdue === 'false' ? [Prisma.sql`NOT COALESCE(${overdue}, false)`] : []),
      ...(q.openedFrom ? [Prisma.sql`c."createdAt" >= ${new Date(q.openedFrom)}`] : []),
      ...(q.openedTo ? [Prisma.sql`c."createdAt" < ${new Date(q.openedTo)}`] : []),
      ...(!q.cursor ? [] : cursorDue === ''
        ? [Prisma.sql`c."dueAt" IS NULL AND c.id > ${cursorId}::uuid`]
        : [Prisma.sql`(c."dueAt" > ${new Date(cursorDue)} OR (c."dueAt" = ${new Date(cursorDue)} AND c.id > ${cursorId}::uuid) OR c."dueAt" IS NULL)`]),
    ];
    // One prepared statement straight on the pool (the desk's hot path, src/db/raw.ts): the query
    // builder's planning, and Prisma's raw pipeline, cost more CPU than the query.
    const rows = await readRows<CaseRow>(db, Prisma.sql`
      SELECT ${LIST_COLUMNS} FROM "EscalationCase" c
      WHERE ${Prisma.join(where, ' AND ')}
      ORDER BY c."dueAt" ASC NULLS LAST, c.id ASC
      LIMIT ${q.limit + 1}::int`, { prepared: 'case-list' });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { cases: page.map((c) => view(c, now)), nextCursor: rows.length > q.limit && last ? `${last.dueAt?.toISOString() ?? ''}_${last.id}` : null };
  });

  app.get('/v1/cases/:id', {
    schema: { tags: ['cases'], summary: 'One case with its customer, vehicle and whole timeline', params: CaseParams, response: { 200: CaseDetailSchema, 404: ErrorBodySchema } },
  }, async (req) => detail(actorOf(req), req.params.id));

  app.post('/v1/cases', {
    schema: {
      tags: ['cases'], summary: 'Open a case by hand (a complaint in person, on the phone, in a letter) on a delivery',
      body: z.strictObject({ deliveryId: z.uuid(), detail: safeNote(2000) }),
      response: { 201: CaseDetailSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const delivery = await db.delivery.findFirst({ where: { id: req.body.deliveryId, AND: [deliveryWhere(actor)] }, select: { storeId: true } });
    if (!delivery) throw notFound(`delivery ${req.body.deliveryId}`);
    assertCan(actor, 'case.act', delivery.storeId);
    const by = caseActor(actor, delivery.storeId);
    const opened = (await openCase({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, {
      reason: 'manual', deliveryId: req.body.deliveryId, detail: req.body.detail, openedBy: by === 'system' ? 'system' : `${by.kind}:${by.id}`,
    }))!;
    req.log.info({ caseId: opened.caseId, storeId: opened.storeId, actorId: actor.id }, 'case opened by hand');
    return reply.status(201).send(await detail(actor, opened.caseId));
  });

  /** One desk action: an update on the case's workflow, which checks and records it. */
  function action<B extends z.ZodType>(path: string, name: CaseAction, body: B, summary: string, send: (caseId: string, actor: CaseActor, body: z.infer<B>, updateId: string | undefined) => Promise<unknown>) {
    app.post(`/v1/cases/:id/${path}`, {
      schema: {
        tags: ['cases'], summary, params: CaseParams, headers: IdempotencyHeaders, body,
        response: { 200: CaseDetailSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
      },
    }, async (req) => {
      const actor = actorOf(req);
      const c = await loadCase(actor, req.params.id);
      assertCan(actor, 'case.act', c.storeId);
      // A closed case has no workflow left to ask; every other refusal is the workflow's validator's (src/domain/cases.ts).
      if (c.status === 'closed') throw conflict('the case is closed: open a new case');
      const key = req.headers['idempotency-key'];
      await send(c.id, caseActor(actor, c.storeId), req.body as z.infer<B>, key ? `${name}:${c.id}:${key}` : undefined).catch(updateError);
      req.log.info({ caseId: c.id, action: name, actorId: actor.id }, 'case updated');
      return detail(actor, c.id);
    });
  }

  const handle = (caseId: string) => temporal.workflow.getHandle(caseWorkflowId(caseId));

  action('acknowledge', 'acknowledge', z.strictObject({ note: safeNote(2000).optional() }), 'First response: the owner has taken the case up (stops the first-response deadline)',
    (id, actor, b, updateId) => handle(id).executeUpdate(acknowledgeCaseUpdate, { args: [{ actor, ...b }], updateId }));

  action('notes', 'note', z.strictObject({ note: safeNote(2000) }), 'Add a note to the case\'s timeline',
    (id, actor, b, updateId) => handle(id).executeUpdate(addCaseNoteUpdate, { args: [{ actor, ...b }], updateId }));

  action('reassign', 'reassign', z.strictObject({ assigneeId: z.uuid(), note: safeNote(2000).optional() }), 'Hand the case to another active staff member of its store, who is told',
    async (id, actor, b, updateId) => {
      const c = await db.escalationCase.findUniqueOrThrow({ where: { id }, select: { storeId: true } });
      const target = await db.staff.findUnique({ where: { id: b.assigneeId }, select: { storeId: true, active: true } });
      if (!target?.active || target.storeId !== c.storeId) throw badRequest('assigneeId', 'not an active staff member of the case\'s store');
      return handle(id).executeUpdate(reassignCaseUpdate, { args: [{ actor, ...b }], updateId });
    });

  action('resolve', 'resolve', z.strictObject({
    rootCause: z.enum(ROOT_CAUSES),
    confirmation: z.strictObject({ channel: z.enum(CONFIRMATION_CHANNELS), at: boundedDateTime() }).describe('how and when the customer confirmed the problem is solved'),
    resolution: safeNote(2000),
  }), 'Resolve the case, with the customer\'s confirmation and a root-cause category',
  (id, actor, b, updateId) => {
    if (Date.parse(b.confirmation.at) > Date.now() + 60_000) throw badRequest('confirmation.at', 'lies in the future');
    return handle(id).executeUpdate(resolveCaseUpdate, { args: [{ actor, ...b, confirmation: { ...b.confirmation, at: new Date(b.confirmation.at).toISOString() } }], updateId });
  });

  action('reopen', 'reopen', z.strictObject({ reason: safeNote(2000) }), 'Reopen a resolved case (within its reopening period): fresh deadlines from now',
    (id, actor, b, updateId) => handle(id).executeUpdate(reopenCaseUpdate, { args: [{ actor, ...b }], updateId }));
};
