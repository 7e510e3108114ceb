import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ContactWindowSchema, DEFAULT_CUSTOMER_WINDOW } from '../../domain/contact-window';
import { boundedDateTime } from '../../domain/dates';
import { ContactPlanSchema, schedulePlan } from '../../domain/plan';
import { auditActorOf, recordAudit } from '../../services/audit';
import { currentPlan } from '../../services/stores';
import { actorLabel, actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import type { ApiDeps } from '../server';

const PlanViewSchema = z.object({ storeId: z.string(), version: z.number(), createdAt: z.string(), createdBy: z.string(), steps: z.array(z.any()) });

export const planRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  app.get('/v1/stores/:storeId/plan', {
    schema: { tags: ['plans'], summary: 'The store\'s current post-delivery contact plan', params: StoreParamsSchema, response: { 200: PlanViewSchema, 404: ErrorBodySchema } },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    const plan = await currentPlan(db, req.params.storeId);
    return { storeId: plan.storeId, version: plan.version, createdAt: plan.createdAt.toISOString(), createdBy: plan.createdBy, steps: plan.steps as unknown[] };
  });

  app.put('/v1/stores/:storeId/plan', {
    schema: {
      tags: ['plans'], summary: 'Save a new plan version; new deliveries use it, running ones keep theirs',
      params: StoreParamsSchema, body: ContactPlanSchema, response: { 200: PlanViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    assertCan(actor, 'plan.edit', req.params.storeId);
    const plan = await db.$transaction(async (tx) => {
      const latest = await currentPlan(tx, req.params.storeId);
      const created = await tx.contactPlan.create({ data: { storeId: latest.storeId, version: latest.version + 1, steps: req.body.steps, createdBy: actorLabel(actor) } });
      await recordAudit(tx, {
        actor: auditActorOf(actor), action: 'plan.update', entity: 'plan', entityId: created.storeId, storeId: created.storeId,
        before: { version: latest.version, steps: latest.steps }, after: { version: created.version, steps: created.steps },
      });
      return created;
    });
    return { storeId: plan.storeId, version: plan.version, createdAt: plan.createdAt.toISOString(), createdBy: plan.createdBy, steps: plan.steps as unknown[] };
  });

  app.post('/v1/stores/:storeId/plan/preview', {
    schema: {
      tags: ['plans'], summary: 'The dated schedule a delivery would get, after quiet hours and the customer\'s window',
      params: StoreParamsSchema,
      body: z.strictObject({ deliveredAt: boundedDateTime(), contactWindow: ContactWindowSchema.optional() }),
      response: {
        200: z.object({ planVersion: z.number(), timeZone: z.string(), steps: z.array(z.object({ key: z.string(), title: z.string(), kind: z.string(), role: z.string(), channel: z.string(), dueStart: z.string(), dueEnd: z.string() })) }),
        404: ErrorBodySchema,
      },
    },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    const store = await db.store.findUnique({ where: { id: req.params.storeId } });
    if (!store) throw notFound(`store ${req.params.storeId}`);
    const plan = await currentPlan(db, store.id);
    const steps = schedulePlan({
      plan: ContactPlanSchema.parse({ steps: plan.steps }), deliveredAt: new Date(req.body.deliveredAt),
      timeZone: store.timeZone, customerWindow: req.body.contactWindow ?? DEFAULT_CUSTOMER_WINDOW,
    });
    return {
      planVersion: plan.version, timeZone: store.timeZone,
      steps: steps.map((s) => ({ key: s.key, title: s.title, kind: s.kind, role: s.role, channel: s.channel, dueStart: s.dueStart.toISOString(), dueEnd: s.dueEnd.toISOString() })),
    };
  });
};
