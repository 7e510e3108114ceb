import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ContactWindowSchema, DEFAULT_CUSTOMER_WINDOW } from '../../domain/contact-window';
import { normalizePhone } from '../../domain/phone';
import { ContactPlanSchema, PlanStep } from '../../domain/plan';
import { normalizeVin, vinProblem } from '../../domain/vin';
import { DELIVERY_ID_ATTRIBUTE, STORE_ID_ATTRIBUTE, workflowIdFor } from '../../temporal/connection';
import { initialLifecycleState, LifecycleInput, LifecycleState } from '../../domain/lifecycle';
import { deliveryWhere } from '../../services/access';
import { actorOf, assertCan } from '../auth';
import { badRequest, conflict, ErrorBodySchema, notFound } from '../errors';
import type { ApiDeps } from '../server';
import { currentPlan } from './plans';

const PhoneSchema = z.string().transform((raw, ctx) => {
  const phone = normalizePhone(raw);
  if (!phone) {
    ctx.addIssue({ code: 'custom', message: 'must be an E.164 number such as +8613812345678 or an 11-digit mainland mobile number' });
    return z.NEVER;
  }
  return phone;
});

const VinSchema = z.string().transform((raw, ctx) => {
  const vin = normalizeVin(raw);
  const problem = vinProblem(vin);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return vin;
});

export const DeliveryInputSchema = z.strictObject({
  storeId: z.string().min(1).max(64),
  deliveredAt: z.iso.datetime({ offset: true }),
  byAppointment: z.boolean().default(false),
  customer: z.strictObject({
    externalId: z.string().min(1).max(64),
    name: z.string().trim().min(1).max(100),
    phone: PhoneSchema,
    email: z.email().optional(),
    locale: z.enum(['zh-CN', 'en']).default('zh-CN'),
    contactWindow: ContactWindowSchema.optional(),
  }),
  vehicle: z.strictObject({
    vin: VinSchema,
    model: z.string().trim().min(1).max(100),
    plate: z.string().trim().max(20).optional(),
  }),
  consultant: z.strictObject({
    externalId: z.string().min(1).max(64),
    name: z.string().trim().min(1).max(100).optional(),
    phone: PhoneSchema.optional(),
  }),
});
export type DeliveryInput = z.infer<typeof DeliveryInputSchema>;

const DeliverySchema = z.object({
  id: z.string(),
  storeId: z.string(),
  workflowId: z.string(),
  vin: z.string(),
  deliveredAt: z.string(),
  status: z.string(),
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

export const deliveryRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  app.post('/v1/deliveries', {
    schema: {
      tags: ['deliveries'],
      summary: 'Record a vehicle delivery (交车); starts the ownership follow-up. Posting the same delivery again returns it.',
      body: DeliveryInputSchema,
      response: { 200: DeliverySchema, 201: DeliverySchema, 400: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const input = req.body;
    // Deliveries come from the DMS: an API key (src/services/access.ts).
    assertCan(actor, 'delivery.create', input.storeId);
    const store = await db.store.findUnique({ where: { id: input.storeId } });
    if (!store) throw badRequest('storeId', `unknown store ${input.storeId}`);
    const deliveredAt = new Date(input.deliveredAt);
    const window = input.customer.contactWindow ?? DEFAULT_CUSTOMER_WINDOW;
    const workflowId = workflowIdFor(store.id, input.vehicle.vin);

    const { delivery, created, plan: planRead } = await db.$transaction(async (tx) => {
      const vehicle = await tx.vehicle.upsert({
        where: { storeId_vin: { storeId: store.id, vin: input.vehicle.vin } },
        update: { model: input.vehicle.model, plate: input.vehicle.plate },
        create: { storeId: store.id, vin: input.vehicle.vin, model: input.vehicle.model, plate: input.vehicle.plate },
      });
      const same = await tx.delivery.findUnique({ where: { storeId_vehicleId_deliveredAt: { storeId: store.id, vehicleId: vehicle.id, deliveredAt } } });
      if (same) return { delivery: same, created: false, plan: null };
      const active = await tx.delivery.findFirst({ where: { vehicleId: vehicle.id, status: 'active' } });
      if (active) throw conflict(`vehicle ${input.vehicle.vin} already has an active ownership delivered ${active.deliveredAt.toISOString()}; end it before recording a new delivery`);

      let consultant = await tx.staff.findUnique({ where: { storeId_externalId: { storeId: store.id, externalId: input.consultant.externalId } } });
      if (!consultant) {
        if (!input.consultant.name) throw badRequest('consultant.name', `consultant ${input.consultant.externalId} is not on the staff list of ${store.id}: give the name to add them`);
        consultant = await tx.staff.create({
          data: { storeId: store.id, externalId: input.consultant.externalId, name: input.consultant.name, role: 'consultant', phone: input.consultant.phone },
        });
      }
      const c = input.customer;
      const customer = await tx.customer.upsert({
        where: { storeId_externalId: { storeId: store.id, externalId: c.externalId } },
        update: { name: c.name, phone: c.phone, email: c.email, locale: c.locale, contactWindowStart: window.start, contactWindowEnd: window.end },
        create: { storeId: store.id, externalId: c.externalId, name: c.name, phone: c.phone, email: c.email, locale: c.locale, contactWindowStart: window.start, contactWindowEnd: window.end },
      });
      const plan = await currentPlan(tx, store.id);
      const delivery = await tx.delivery.create({
        data: {
          storeId: store.id, vehicleId: vehicle.id, customerId: customer.id, consultantId: consultant.id, deliveredAt,
          byAppointment: input.byAppointment, workflowId, planId: plan.id,
        },
      });
      return { delivery, created: true, plan };
    });

    // Started after the rows commit; a failure here is repaired by posting the same delivery again.
    let started: LifecycleState | null = null;
    if (delivery.status === 'active') {
      const plan = planRead ?? await db.contactPlan.findUniqueOrThrow({ where: { id: delivery.planId! } });
      const workflowInput: LifecycleInput = {
        deliveryId: delivery.id, storeId: store.id, timeZone: store.timeZone, deliveredAt: delivery.deliveredAt.toISOString(),
        customerWindow: window, plan: { id: plan.id, version: plan.version, steps: ContactPlanSchema.parse({ steps: plan.steps }).steps as PlanStep[] },
      };
      await temporal.workflow.start('vehicleLifecycle', {
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        workflowId,
        args: [workflowInput],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [{ key: STORE_ID_ATTRIBUTE, value: store.id }, { key: DELIVERY_ID_ATTRIBUTE, value: delivery.id }],
      });
      // A new workflow's state is its input's schedule: answer with it rather than query a workflow
      // that has not run yet (a query costs the server and a worker a round trip each).
      if (created) started = initialLifecycleState(workflowInput);
    }
    req.log.info({ deliveryId: delivery.id, storeId: store.id, created }, created ? 'delivery recorded' : 'delivery already recorded');
    return reply.status(created ? 201 : 200).send(await deliveryView(delivery.id, started));
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
      return await temporal.workflow.getHandle(workflowId).query<LifecycleState>('state');
    } catch {
      return null; // not started yet, or closed: the rows still tell the story
    }
  }

  async function deliveryView(id: string, known: LifecycleState | null = null): Promise<z.infer<typeof DeliverySchema>> {
    const d = await db.delivery.findUniqueOrThrow({
      where: { id },
      include: { vehicle: true, plan: true, messages: { orderBy: { createdAt: 'asc' } }, followUps: { orderBy: { dueStart: 'asc' } } },
    });
    const state = known ?? (d.status === 'active' ? await liveState(d.workflowId) : null);
    return {
      id: d.id, storeId: d.storeId, workflowId: d.workflowId, vin: d.vehicle.vin, deliveredAt: d.deliveredAt.toISOString(),
      status: d.status, planVersion: d.plan?.version ?? null,
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
