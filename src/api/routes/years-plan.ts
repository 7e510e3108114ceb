import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Prisma } from '../../generated/prisma/client';
import { DEFAULT_YEARS_PLAN } from '../../domain/years';
import { YearsPlanSchema } from '../../domain/years-plan';
import { auditActorOf, recordAudit } from '../../services/audit';
import { actorOf, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import type { ApiDeps } from '../server';

const YearsPlanViewSchema = z.object({ storeId: z.string(), builtIn: z.boolean(), plan: YearsPlanSchema });

/**
 * The store's plan for the years after delivery: per kind of contact (maintenance, post-service,
 * insurance, inspection, licence, birthday, anniversary) its touches' offsets, channels, templates
 * and roles, and the service intervals per model. New deliveries start with it; running
 * lifecycles keep the one they started with.
 */
export const yearsPlanRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  app.get('/v1/stores/:storeId/years-plan', {
    schema: { tags: ['plans'], summary: 'The store\'s plan for the years after delivery (the built-in one until the store saves its own)', params: StoreParamsSchema, response: { 200: YearsPlanViewSchema, 404: ErrorBodySchema } },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    const store = await db.store.findUnique({ where: { id: req.params.storeId } });
    if (!store) throw notFound(`store ${req.params.storeId}`);
    const own = store.yearsPlan === null ? null : YearsPlanSchema.safeParse(store.yearsPlan);
    return { storeId: store.id, builtIn: !own?.success, plan: own?.success ? own.data : DEFAULT_YEARS_PLAN };
  });

  app.put('/v1/stores/:storeId/years-plan', {
    schema: {
      tags: ['plans'], summary: 'Save the store\'s plan for the years; new deliveries use it, running lifecycles keep theirs',
      params: StoreParamsSchema, body: YearsPlanSchema, response: { 200: YearsPlanViewSchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    assertCan(actor, 'plan.edit', req.params.storeId);
    const plan = req.body as Prisma.InputJsonObject;
    await db.$transaction(async (tx) => {
      const store = await tx.store.findUnique({ where: { id: req.params.storeId } });
      if (!store) throw notFound(`store ${req.params.storeId}`);
      await tx.store.update({ where: { id: store.id }, data: { yearsPlan: plan } });
      await recordAudit(tx, { actor: auditActorOf(actor), action: 'plan.update-years', entity: 'plan', entityId: store.id, storeId: store.id, before: { yearsPlan: store.yearsPlan }, after: { yearsPlan: plan } });
    });
    return { storeId: req.params.storeId, builtIn: false, plan: req.body };
  });
};
