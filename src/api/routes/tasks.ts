import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { boundedDateTime, inSaneRange } from '../../domain/dates';
import { requestedTimeProblem } from '../../domain/lifecycle';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CallOutcomeSchema } from '../../domain/outcome';
import { Prisma } from '../../generated/prisma/client';
import { readRows } from '../../db/raw';
import { recordAnswerUpdate, rescheduleTaskUpdate } from '../../workflows/contract';
import { type AuditActor, auditActorOf, recordAudit } from '../../services/audit';
import { mayReassignTo, membershipAt, taskSql, taskWhere } from '../../services/access';
import { Actor, actorOf, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, conflict, forbidden, HttpError, notFound } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/**
 * Call tasks (the follow-ups staff make by phone): inboxes, claim, reassign, reschedule, complete.
 * Whatever changes a task's timing or outcome goes through its vehicle workflow (an Update), which
 * is the one writer of follow-up status; claim and reassign only change who holds it.
 */
const TaskSchema = z.object({
  id: z.string(),
  storeId: z.string(),
  deliveryId: z.string(),
  stepKey: z.string(),
  role: z.string(),
  assigneeId: z.string().nullable(),
  status: z.string(),
  overdue: z.boolean(),
  dueStart: z.string().describe('the required window set by the plan: timeliness reads it, a call-back request never moves it'),
  dueEnd: z.string(),
  requestedAt: z.string().nullable().describe('the time the customer asked to be called at'),
  nextAttemptAt: z.string().nullable().describe('when to call next: the requested time, or the retry after an unreached call'),
  recordedLate: z.boolean().describe('the required window had closed before the delivery reached the system: not counted in timeliness'),
  attempts: z.number(),
  maxAttempts: z.number(),
  survey: z.boolean(),
  mandatory: z.boolean(),
  checklist: z.array(z.string()),
  customer: z.object({ id: z.string(), name: z.string(), phone: z.string(), contactWindow: z.string() }),
  vehicle: z.object({ vin: z.string(), model: z.string() }),
  outcome: z.object({
    reached: z.boolean().nullable(), satisfied: z.boolean().nullable(), csat: z.number().nullable(), nps: z.number().nullable(),
    promisesKept: z.boolean().nullable(), complaint: z.string().nullable(), note: z.string().nullable(),
    completedAt: z.string().nullable(), completedById: z.string().nullable(),
  }),
});
type Task = z.infer<typeof TaskSchema>;

const taskInclude = { delivery: { include: { customer: true, vehicle: true } } } as const;
type TaskRow = Prisma.FollowUpGetPayload<{ include: typeof taskInclude }>;

/** What a task view needs: the follow-up's columns, its customer's and its vehicle's. */
type TaskFields = Pick<TaskRow, 'id' | 'storeId' | 'deliveryId' | 'stepKey' | 'role' | 'assigneeId' | 'status' | 'dueStart' | 'dueEnd'
  | 'requestedAt' | 'recordedLate' | 'nextAttemptAt' | 'attempts' | 'maxAttempts' | 'survey' | 'mandatory' | 'checklist' | 'reached' | 'satisfied' | 'csat' | 'nps'
  | 'promisesKept' | 'complaint' | 'note' | 'completedAt' | 'completedById'>;
type TaskCustomer = Pick<TaskRow['delivery']['customer'], 'id' | 'name' | 'phone' | 'contactWindowStart' | 'contactWindowEnd'>;
type TaskVehicle = Pick<TaskRow['delivery']['vehicle'], 'vin' | 'model'>;

function view(f: TaskFields, customer: TaskCustomer, vehicle: TaskVehicle, now: Date): Task {
  return {
    id: f.id, storeId: f.storeId, deliveryId: f.deliveryId, stepKey: f.stepKey, role: f.role, assigneeId: f.assigneeId,
    status: f.status, overdue: f.status === 'open' && f.dueEnd < now,
    dueStart: f.dueStart.toISOString(), dueEnd: f.dueEnd.toISOString(), requestedAt: f.requestedAt?.toISOString() ?? null,
    nextAttemptAt: f.nextAttemptAt?.toISOString() ?? null, recordedLate: f.recordedLate,
    attempts: f.attempts, maxAttempts: f.maxAttempts, survey: f.survey, mandatory: f.mandatory, checklist: f.checklist as string[],
    customer: { id: customer.id, name: customer.name, phone: customer.phone, contactWindow: `${customer.contactWindowStart}-${customer.contactWindowEnd}` },
    vehicle: { vin: vehicle.vin, model: vehicle.model },
    outcome: {
      reached: f.reached, satisfied: f.satisfied, csat: f.csat, nps: f.nps, promisesKept: f.promisesKept, complaint: f.complaint,
      note: f.note, completedAt: f.completedAt?.toISOString() ?? null, completedById: f.completedById,
    },
  };
}

const viewOf = (f: TaskRow, now: Date) => view(f, f.delivery.customer, f.delivery.vehicle, now);

/** One inbox row: the follow-up with its customer's and vehicle's columns, read in one statement. */
type InboxRow = TaskFields & { customerId: string; customerName: string; customerPhone: string; contactWindowStart: string; contactWindowEnd: string; vin: string; model: string };

/**
 * The staff member acting: a signed-in person acts as themself (their row at the task's store);
 * an integration key names one with X-Staff-Id, who must belong to the task's store.
 */
async function actingStaff(deps: ApiDeps, actor: Actor, header: unknown, task: { storeId: string; role: string }, required: boolean): Promise<string | null> {
  if (actor.kind === 'staff') return membershipAt(actor, task.storeId, task.role)?.staffId ?? null;
  const { storeId } = task;
  if (typeof header !== 'string' || !header) {
    if (required) throw badRequest('x-staff-id', 'name the staff member acting (header X-Staff-Id)');
    return null;
  }
  const staff = await deps.db.staff.findUnique({ where: { id: z.uuid().safeParse(header).success ? header : '00000000-0000-0000-0000-000000000000' } });
  if (!staff || staff.storeId !== storeId || !staff.active) throw badRequest('x-staff-id', 'not an active staff member of this task\'s store');
  return staff.id;
}

/** Temporal's answer to an Update, as an HTTP error a caller can act on. */
function updateError(err: unknown): never {
  if (err instanceof WorkflowNotFoundError) throw conflict('this delivery\'s follow-up has ended');
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      if (cause.type === 'TaskAlreadyClosed') throw conflict(cause.message);
      if (cause.type === 'RecordNotFound') throw notFound(cause.message);
      if (cause.type === 'InvalidRequest') throw badRequest('at', cause.message);
    }
    // The workflow tried to record it a few times and could not (the database is down): nothing was recorded.
    if (cause instanceof ActivityFailure) throw new HttpError(503, 'Unavailable', 'the outcome could not be recorded just now; nothing was recorded, try again', undefined);
  }
  throw err;
}

/**
 * The caller's Idempotency-Key, as the Update's ID: a retried request (the same key for the same
 * task and action) is the same update, answered as the first was, never a second attempt.
 */
function updateIdOf(header: unknown, action: string, taskId: string): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(header)) {
    throw badRequest('idempotency-key', 'up to 200 visible ASCII characters, e.g. a UUID');
  }
  return `${action}:${taskId}:${header}`;
}

export const taskRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { db, temporal } = deps;
  const TaskParams = z.object({ id: z.uuid() });

  async function loadTask(actor: Actor, id: string): Promise<TaskRow> {
    const task = await db.followUp.findFirst({ where: { id, kind: 'call', AND: [taskWhere(actor)] }, include: taskInclude });
    if (!task) throw notFound(`task ${id}`);
    return task;
  }

  /**
   * Who holds a task, changed when `where` still holds, and audited in the same transaction. The
   * row is locked first, so the audit's "before" is what the change replaced. False: `where` did not hold.
   */
  async function changeHolder(actor: AuditActor, action: 'task.claim' | 'task.reassign', id: string, where: Prisma.FollowUpWhereInput, data: { assigneeId: string; claimedAt: Date | null }): Promise<boolean> {
    return db.$transaction(async (tx) => {
      const [before] = await tx.$queryRaw<{ assigneeId: string | null; claimedAt: Date | null; storeId: string }[]>`
        SELECT "assigneeId"::text AS "assigneeId", "claimedAt", "storeId" FROM "FollowUp" WHERE id = ${id}::uuid FOR UPDATE`;
      const { count } = await tx.followUp.updateMany({ where: { id, ...where }, data });
      if (count === 0) return false;
      await recordAudit(tx, {
        actor, action, entity: 'task', entityId: id, storeId: before.storeId,
        before: { assigneeId: before.assigneeId, claimedAt: before.claimedAt }, after: data,
      });
      return true;
    });
  }

  app.get('/v1/tasks', {
    schema: {
      tags: ['tasks'], summary: 'Call tasks: a staff member\'s inbox with assigneeId, a store\'s with storeId',
      querystring: z.object({
        storeId: StoreIdSchema.optional(),
        assigneeId: z.uuid().optional(),
        status: z.enum(['open', 'closed', 'all']).default('open'),
        due: z.enum(['overdue', 'today', 'upcoming', 'any']).default('any'),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().optional().describe('the `nextCursor` of the previous page'),
      }),
      response: { 200: z.object({ tasks: z.array(TaskSchema), nextCursor: z.string().nullable() }), 403: ErrorBodySchema },
    },
    // The page is built from typed columns by `view`: checking 50 tasks against the schema again on
    // the way out cost more CPU than the query. The schema still documents the answer.
    serializerCompiler: () => (data) => JSON.stringify(data),
    // Consoles poll their inbox: its two access-log lines per request cost ~0.3 ms of CPU (a fifth of
    // the request, bench/inbox.ts). Warnings and failures are still logged; the request histogram
    // (src/metrics-api.ts) counts every request.
    logLevel: 'warn',
  }, async (req) => {
    const q = req.query;
    const now = new Date();
    const endOfDay = new Date(now.getTime() + 24 * 3600_000);
    const actor = actorOf(req);
    if (q.storeId) assertStoreAccess(actor, q.storeId);
    // Keyset pagination on (dueEnd, id): stable while tasks are being completed.
    const [cursorDue, cursorId] = q.cursor ? q.cursor.split('_') : [];
    if (q.cursor && (!cursorId || !inSaneRange(new Date(cursorDue)) || !z.uuid().safeParse(cursorId).success)) throw badRequest('cursor', 'not a cursor this API returned');
    // One statement with its joins (Prisma's include would be four queries, each compiled anew):
    // the inbox is the busiest read of the API, so it goes straight to the pool as a prepared
    // statement (src/db/raw.ts). Indexes: (assigneeId, status, dueEnd), (storeId, status, dueEnd).
    // The page is cut before the joins: sorting on (dueEnd, id) above them joined every task of the
    // page's last dueEnd (tasks share due times), ~62 rows for 51 at 10^5 open tasks. The follow-up
    // carries its delivery's customer and vehicle IDs (a trigger copies them), so no join to the delivery.
    const conditions = [
      Prisma.sql`f.kind = 'call'`,
      taskSql(actor),
      ...(q.storeId ? [Prisma.sql`f."storeId" = ${q.storeId}`] : []),
      ...(q.assigneeId ? [Prisma.sql`f."assigneeId" = ${q.assigneeId}::uuid`] : []),
      ...(q.status === 'open' || q.due === 'overdue' ? [Prisma.sql`f.status = 'open'`] : q.status === 'closed' ? [Prisma.sql`f.status <> 'open'`] : []),
      ...(q.due === 'overdue' ? [Prisma.sql`f."dueEnd" < ${now}::timestamptz`] : []),
      ...(q.due === 'today' ? [Prisma.sql`f."dueStart" <= ${endOfDay}::timestamptz AND f."dueEnd" >= ${now}::timestamptz`] : []),
      ...(q.due === 'upcoming' ? [Prisma.sql`f."dueStart" > ${now}::timestamptz`] : []),
      ...(cursorId ? [Prisma.sql`(f."dueEnd", f.id) > (${new Date(cursorDue)}::timestamptz, ${cursorId}::uuid)`] : []),
    ];
    // The page size is written into the text (an integer zod checked, 2-201), not passed as a parameter:
    // a generic plan guesses a parameter LIMIT at a tenth of the rows, so PostgreSQL re-planned the
    // store lists on every call (~0.45 ms each); with the literal it keeps one generic plan per size.
    const rows = await readRows<InboxRow>(db, Prisma.sql`
      SELECT f.id::text AS id, f."storeId", f."deliveryId"::text AS "deliveryId", f."stepKey", f.role, f."assigneeId"::text AS "assigneeId",
             f.status, f."dueStart", f."dueEnd", f."requestedAt", f."recordedLate", f."nextAttemptAt", f.attempts, f."maxAttempts", f.survey, f.mandatory, f.checklist,
             f.reached, f.satisfied, f.csat, f.nps, f."promisesKept", f.complaint, f.note, f."completedAt", f."completedById"::text AS "completedById",
             c.id::text AS "customerId", c.name AS "customerName", c.phone AS "customerPhone", c."contactWindowStart", c."contactWindowEnd",
             v.vin, v.model
      FROM (
        SELECT * FROM "FollowUp" f WHERE ${Prisma.join(conditions, ' AND ')} ORDER BY f."dueEnd", f.id LIMIT ${Prisma.raw(String(q.limit + 1))}
      ) f
      JOIN "Customer" c ON c.id = f."customerId"
      JOIN "Vehicle" v ON v.id = f."vehicleId"
      ORDER BY f."dueEnd", f.id`, { prepared: 'inbox' });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      tasks: page.map((r) => view(r, { id: r.customerId, name: r.customerName, phone: r.customerPhone, contactWindowStart: r.contactWindowStart, contactWindowEnd: r.contactWindowEnd }, r, now)),
      nextCursor: rows.length > q.limit && last ? `${last.dueEnd.toISOString()}_${last.id}` : null,
    };
  });

  app.get('/v1/tasks/:id', {
    schema: { tags: ['tasks'], summary: 'One task with its checklist and outcome', params: TaskParams, response: { 200: TaskSchema, 404: ErrorBodySchema } },
  }, async (req) => viewOf(await loadTask(actorOf(req), req.params.id), new Date()));

  app.post('/v1/tasks/:id/claim', {
    schema: {
      tags: ['tasks'], summary: 'The acting staff member (X-Staff-Id) takes an unassigned task',
      params: TaskParams, response: { 200: TaskSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req) => {
    const task = await loadTask(actorOf(req), req.params.id);
    const staffId = (await actingStaff(deps, actorOf(req), req.headers['x-staff-id'], task, true))!;
    const changed = await changeHolder(auditActorOf(actorOf(req), staffId), 'task.claim', task.id,
      { status: 'open', OR: [{ assigneeId: null }, { assigneeId: staffId }] }, { assigneeId: staffId, claimedAt: new Date() });
    if (!changed) throw conflict('the task is closed or held by someone else: reassign it instead');
    return viewOf(await loadTask(actorOf(req), task.id), new Date());
  });

  app.post('/v1/tasks/:id/reassign', {
    schema: {
      tags: ['tasks'], summary: 'Hand an open task to another staff member of the store',
      params: TaskParams, body: z.strictObject({ assigneeId: z.uuid() }),
      response: { 200: TaskSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const task = await loadTask(actor, req.params.id);
    const target = await db.staff.findUnique({ where: { id: req.body.assigneeId } });
    if (!target || target.storeId !== task.storeId || !target.active) throw badRequest('assigneeId', 'not an active staff member of this task\'s store');
    if (!mayReassignTo(actor, task.storeId, target.id)) throw forbidden('your role may not hand this task to that person (a supervisor reassigns within their team)');
    const changed = await changeHolder(auditActorOf(actor, await actingStaff(deps, actor, undefined, task, false)), 'task.reassign', task.id, { status: 'open' }, { assigneeId: target.id, claimedAt: null });
    if (!changed) throw conflict(`task is ${task.status}`);
    req.log.info({ taskId: task.id, from: task.assigneeId, to: target.id, actorId: actor.id }, 'task reassigned');
    return viewOf(await loadTask(actor, task.id), new Date());
  });

  const IdempotencyHeaders = z.object({ 'idempotency-key': z.string().optional().describe('makes a retried request one request (any unique string, e.g. a UUID)') });

  app.post('/v1/tasks/:id/reschedule', {
    schema: {
      tags: ['tasks'],
      summary: 'The customer asked to be called at another time: the task shows and reminds of it (inside their window); its required window, and so its timeliness, stay as the plan set them',
      params: TaskParams, headers: IdempotencyHeaders, body: z.strictObject({ at: boundedDateTime() }),
      response: { 200: TaskSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const task = await loadTask(actor, req.params.id);
    const problem = requestedTimeProblem({ dueEnd: task.dueEnd.toISOString() }, new Date(req.body.at), new Date());
    if (problem) throw badRequest('at', problem);
    const staffId = await actingStaff(deps, actor, req.headers['x-staff-id'], task, false);
    await temporal.workflow.getHandle(task.delivery.workflowId)
      .executeUpdate(rescheduleTaskUpdate, {
        args: [{ stepKey: task.stepKey, requestedAt: new Date(req.body.at).toISOString(), staffId }],
        updateId: updateIdOf(req.headers['idempotency-key'], 'reschedule', task.id),
      })
      .catch(updateError);
    return viewOf(await loadTask(actor, task.id), new Date());
  });

  app.post('/v1/tasks/:id/complete', {
    schema: {
      tags: ['tasks'], summary: 'Record the call\'s outcome; an unreached customer is tried again as the plan says',
      params: TaskParams, headers: IdempotencyHeaders, body: CallOutcomeSchema,
      response: { 200: TaskSchema.extend({ caseId: z.string().nullable() }), 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const task = await loadTask(actor, req.params.id);
    assertStoreAccess(actor, task.storeId);
    const staffId = await actingStaff(deps, actor, req.headers['x-staff-id'], task, false);
    // The workflow records it (and any case): the one writer of its follow-ups.
    const result = await temporal.workflow.getHandle(task.delivery.workflowId)
      .executeUpdate(recordAnswerUpdate, {
        args: [{ kind: 'call', stepKey: task.stepKey, outcome: req.body, answeredAt: new Date().toISOString(), staffId }],
        updateId: updateIdOf(req.headers['idempotency-key'], 'complete', task.id),
      })
      .catch(updateError);
    req.log.info({ taskId: task.id, status: result.status, actorId: actor.id, staffId }, 'task outcome recorded');
    return { ...viewOf(await loadTask(actor, task.id), new Date()), caseId: result.caseId ?? null };
  });
};
