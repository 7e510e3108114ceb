import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PhoneSchema } from '../../domain/phone';
import { safeName } from '../../domain/text';
import { createApiKey, createStore, StoreInputSchema } from '../../services/stores';
import { staffWhere } from '../../services/access';
import { deactivateStaff } from '../../services/staff-exit';
import { auditActorOf, recordAudit } from '../../services/audit';
import { syncDigestSchedule } from '../../services/digest-schedules';
import { actorLabel, actorOf, assertAdmin, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import { ExternalIdSchema, StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

export const STAFF_ROLES = ['consultant', 'supervisor', 'cr_specialist', 'manager', 'general_manager', 'service_advisor', 'renewal_specialist'] as const;

const StaffInputSchema = z.strictObject({
  name: safeName(100),
  role: z.enum(STAFF_ROLES),
  phone: PhoneSchema.optional(),
  email: z.email().max(254).optional(),
  active: z.boolean().default(true),
  supervisorExternalId: ExternalIdSchema.nullable().optional()
    .describe('a consultant\'s team: the externalId of the active supervisor of this store who makes the day 4-6 call; null leaves the team'),
});

const StaffViewSchema = z.object({
  id: z.string(), storeId: z.string(), externalId: z.string(), name: z.string(), role: z.string(), active: z.boolean(), supervisorId: z.string().nullable(),
});
const staffView = (s: { id: string; storeId: string; externalId: string; name: string; role: string; active: boolean; supervisorId: string | null }) => ({
  id: s.id, storeId: s.storeId, externalId: s.externalId, name: s.name, role: s.role, active: s.active, supervisorId: s.supervisorId,
});

export const storeRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  /** The ID of the supervisor a consultant's team belongs to, or a 400 naming supervisorExternalId. */
  async function teamSupervisor(storeId: string, role: string, supervisorExternalId: string): Promise<string> {
    if (role !== 'consultant') throw badRequest('supervisorExternalId', 'only a consultant belongs to a supervisor\'s team');
    const supervisor = await db.staff.findUnique({ where: { storeId_externalId: { storeId, externalId: supervisorExternalId } } });
    if (!supervisor?.active || supervisor.role !== 'supervisor') {
      throw badRequest('supervisorExternalId', `no active supervisor ${supervisorExternalId} at store ${storeId}`);
    }
    return supervisor.id;
  }

  app.post('/v1/stores', {
    schema: {
      tags: ['stores'], summary: 'Create a store (admin); it starts with the default contact plan',
      body: StoreInputSchema,
      response: { 201: z.object({ id: z.string(), name: z.string(), timeZone: z.string() }), 400: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    assertAdmin(actor);
    if (actor.storeId) throw badRequest('id', 'a store-scoped key cannot create stores');
    const store = await createStore(db, req.body, actorLabel(actor));
    // The store exists now: a Temporal outage leaves its digest schedule to the worker's sync at start.
    await syncDigestSchedule(temporal, config.TEMPORAL_TASK_QUEUE, store)
      .catch((err: unknown) => req.log.warn({ storeId: store.id, err: (err as Error).message }, 'digest schedule not created yet'));
    return reply.status(201).send({ id: store.id, name: store.name, timeZone: store.timeZone });
  });

  app.put('/v1/stores/:storeId/staff/:externalId', {
    schema: {
      tags: ['staff'], summary: 'Add or update a staff member and their role at the store (DMS sync)',
      params: StoreParamsSchema.extend({ externalId: ExternalIdSchema }),
      body: StaffInputSchema,
      response: { 200: StaffViewSchema, 400: ErrorBodySchema },
    },
  }, async (req) => {
    assertCan(actorOf(req), 'staff.edit', req.params.storeId);
    if (!(await db.store.findUnique({ where: { id: req.params.storeId } }))) throw notFound(`store ${req.params.storeId}`);
    const { storeId, externalId } = req.params;
    const { supervisorExternalId, ...fields } = req.body;
    const team = supervisorExternalId === undefined ? {} : { supervisorId: supervisorExternalId && (await teamSupervisor(storeId, fields.role, supervisorExternalId)) };
    const staff = await db.$transaction(async (tx) => {
      const where = { storeId_externalId: { storeId, externalId } };
      const before = await tx.staff.findUnique({ where });
      const saved = await tx.staff.upsert({ where, update: { ...fields, ...team, ...(fields.active && { deactivatedAt: null }) }, create: { storeId, externalId, ...fields, ...team } });
      const audited = (s: typeof saved) => ({ ...staffView(s), phone: s.phone, email: s.email });
      await recordAudit(tx, {
        actor: auditActorOf(actorOf(req)), action: before ? 'staff.update' : 'staff.create', entity: 'staff', entityId: saved.id, storeId,
        before: before && audited(before), after: audited(saved),
      });
      return saved;
    });
    // A row the DMS marks inactive is a leaver: their open work goes to colleagues, their sessions end.
    if (!staff.active && staff.deactivatedAt === null) await deactivateStaff({ db, temporal }, [staff.id], auditActorOf(actorOf(req)));
    return staffView(staff);
  });

  app.get('/v1/stores/:storeId/staff', {
    schema: { tags: ['staff'], summary: 'The store\'s staff and their roles', params: StoreParamsSchema, response: { 200: z.array(StaffViewSchema) } },
  }, async (req) => {
    assertStoreAccess(actorOf(req), req.params.storeId);
    const staff = await db.staff.findMany({ where: { storeId: req.params.storeId, AND: [staffWhere(actorOf(req))] }, orderBy: [{ role: 'asc' }, { name: 'asc' }] });
    return staff.map(staffView);
  });

  app.post('/v1/api-keys', {
    schema: {
      tags: ['auth'], summary: 'Issue an API key (admin); the key is shown once and stored hashed',
      body: z.strictObject({ name: safeName(100), role: z.enum(['admin', 'integration']), storeId: StoreIdSchema.nullable() }),
      response: { 201: z.object({ id: z.string(), key: z.string() }), 400: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    assertAdmin(actor);
    if (req.body.storeId === null && actor.storeId) throw badRequest('storeId', 'a store-scoped admin can only issue keys for its store');
    if (req.body.storeId) {
      assertStoreAccess(actor, req.body.storeId);
      if (!(await db.store.findUnique({ where: { id: req.body.storeId } }))) throw badRequest('storeId', `unknown store ${req.body.storeId}`);
    }
    return reply.status(201).send(await createApiKey(db, req.body, actorLabel(actor)));
  });
};
