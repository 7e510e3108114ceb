import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readRows } from '../../db/raw';
import { type FollowUp, type Message, Prisma } from '../../generated/prisma/client';
import { initialLifecycleState, type LifecycleState } from '../../domain/lifecycle';
import { deliveryWhere } from '../../services/access';
import { DeliveryInputSchema, type RecordedDelivery, recordDelivery } from '../../services/deliveries';
import { stateQuery } from '../../workflows/contract';
import { auditActorOf } from '../../services/audit';
import { actorOf, assertCan } from '../auth';
import { ErrorBodySchema } from '../errors';
import { notFound } from '../../services/errors';
import type { ApiDeps } from '../server';

const DeliverySchema = z.object({
  id: z.string(),
  storeId: z.string(),
  workflowId: z.string(),
  customerId: z.string(),
  vin: z.string(),
  deliveredAt: z.string(),
  status: z.string(),
  /** null until the ownership workflow has started (Temporal was unavailable when the delivery was recorded) */
  workflowStartedAt: z.string().nullable(),
  planVersion: z.number().nullable(),
  messages: z.array(z.object({
    id: z.string(), channel: z.string(), templateKey: z.string(), transport: z.string(), status: z.string(),
    body: z.string(), createdAt: z.string(), sentAt: z.string().nullable(),
  })),
  followUps: z.array(z.object({
    id: z.string(), stepKey: z.string(), role: z.string(), assigneeId: z.string().nullable(), status: z.string(),
    dueStart: z.string(), dueEnd: z.string(), mandatory: z.boolean(),
  })),
  workflow: z.object({ phase: z.string(), steps: z.array(z.object({ key: z.string(), status: z.string(), dueStart: z.string(), dueEnd: z.string() })) }).nullable(),
});

const LIVE_STATE_DEADLINE_MS = 2_000;

/** What the view shows of a message and of a follow-up. */
type ViewMessage = Pick<Message, 'id' | 'channel' | 'templateKey' | 'transport' | 'status' | 'body' | 'createdAt' | 'sentAt'>;
type ViewFollowUp = Pick<FollowUp, 'id' | 'stepKey' | 'role' | 'assigneeId' | 'status' | 'dueStart' | 'dueEnd' | 'mandatory'>;

export const deliveryRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  app.post('/v1/deliveries', {
    schema: {
      tags: ['deliveries'],
      summary: 'Record a vehicle delivery (交车); starts the ownership follow-up. Posting the same delivery again returns it.',
      description: 'A 503 (Temporal unavailable) still records the delivery: its follow-up starts once Temporal answers, and posting the same delivery again returns it.',
      body: DeliveryInputSchema,
      response: { 200: DeliverySchema, 201: DeliverySchema, 400: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req, reply) => {
    // Deliveries come from the DMS: an API key (src/services/access.ts).
    assertCan(actorOf(req), 'delivery.create', req.body.storeId);
    const recorded = await recordDelivery({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, req.body, { maxAgeDays: config.DELIVERY_MAX_AGE_DAYS, actor: auditActorOf(actorOf(req)) });
    req.log.info({ deliveryId: recorded.id, storeId: recorded.storeId, created: recorded.created }, recorded.created ? 'delivery recorded' : 'delivery already recorded');
    // A workflow this request started is in its input's state: answer with it rather than query a
    // workflow that has not run yet (a query costs the server and a worker a round trip each).
    const known = recorded.started && initialLifecycleState(recorded.started);
    return reply.status(recorded.created ? 201 : 200).send(await deliveryView(recorded.id, known, recorded.written));
  });

  app.get('/v1/deliveries/:id', {
    schema: {
      tags: ['deliveries'],
      summary: 'A delivery with its messages, follow-ups and the workflow\'s live state',
      params: z.object({ id: z.uuid() }),
      response: { 200: DeliverySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const found = await db.delivery.findFirst({ where: { id: req.params.id, AND: [deliveryWhere(actor)] }, select: { id: true } });
    if (!found) throw notFound(`delivery ${req.params.id}`);
    return deliveryView(req.params.id);
  });

  async function liveState(workflowId: string): Promise<LifecycleState | null> {
    try {
      // The schedule is a bonus to the rows: a worker that does not answer soon costs the request little.
      return await temporal.withDeadline(Date.now() + LIVE_STATE_DEADLINE_MS, () => temporal.workflow.getHandle(workflowId).query(stateQuery));
    } catch {
      return null; // not started yet, closed, or no worker in time: the rows still tell the story
    }
  }

  /** `written`: the rows this request wrote, so that only its messages and follow-ups are read again. */
  async function deliveryView(id: string, known: LifecycleState | null = null, written: RecordedDelivery['written'] = null): Promise<z.infer<typeof DeliverySchema>> {
    const d = written
      ? {
        ...written.delivery, vehicle: { vin: written.vin }, plan: { version: written.planVersion },
        // Two prepared reads straight through the pool: on the ingest path, Prisma's would cost more CPU than the reads.
        messages: await readRows<ViewMessage>(db, Prisma.sql`
          SELECT id::text, channel, "templateKey", transport, status, body, "createdAt", "sentAt" FROM "Message" WHERE "deliveryId" = ${id}::uuid ORDER BY "createdAt"`, { prepared: 'delivery-messages' }),
        followUps: await readRows<ViewFollowUp>(db, Prisma.sql`
          SELECT id::text, "stepKey", role, "assigneeId"::text, status, "dueStart", "dueEnd", mandatory FROM "FollowUp" WHERE "deliveryId" = ${id}::uuid ORDER BY "dueStart"`, { prepared: 'delivery-follow-ups' }),
      }
      : await db.delivery.findUniqueOrThrow({
        where: { id },
        include: { vehicle: true, plan: true, messages: { orderBy: { createdAt: 'asc' } }, followUps: { orderBy: { dueStart: 'asc' } } },
      });
    const state = known ?? (d.status === 'active' && d.workflowStartedAt ? await liveState(d.workflowId) : null);
    return {
      id: d.id, storeId: d.storeId, workflowId: d.workflowId, customerId: d.customerId, vin: d.vehicle.vin, deliveredAt: d.deliveredAt.toISOString(),
      status: d.status, workflowStartedAt: d.workflowStartedAt?.toISOString() ?? null, planVersion: d.plan?.version ?? null,
      messages: d.messages.map((m) => ({
        id: m.id, channel: m.channel, templateKey: m.templateKey, transport: m.transport, status: m.status, body: m.body,
        createdAt: m.createdAt.toISOString(), sentAt: m.sentAt?.toISOString() ?? null,
      })),
      followUps: d.followUps.map((f) => ({
        id: f.id, stepKey: f.stepKey, role: f.role, assigneeId: f.assigneeId, status: f.status,
        dueStart: f.dueStart.toISOString(), dueEnd: f.dueEnd.toISOString(), mandatory: f.mandatory,
      })),
      workflow: state && { phase: state.phase, steps: state.steps.map((s) => ({ key: s.key, status: s.status, dueStart: s.dueStart, dueEnd: s.dueEnd })) },
    };
  }
};
