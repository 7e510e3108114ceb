import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Prisma } from '../../generated/prisma/client';
import { boundedDateTime } from '../../domain/dates';
import { CANDIDATE_STATUSES, INVITATION_VISIT_DAYS } from '../../domain/replacement';
import { ReplacementCriteriaSchema, ReplacementDecisionBodySchema } from '../../domain/replacement-criteria';
import { can, deliveryWhere, membershipAt, storeIdsOf } from '../../services/access';
import { auditActorOf, recordAudit } from '../../services/audit';
import { criteriaOf, decideCandidate, recordShowroomVisit } from '../../services/replacement';
import { actorOf, assertCan } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, forbidden, HttpError, notFound } from '../../services/errors';
import { StoreParamsSchema } from '../params';
import type { ApiDeps } from '../server';

const CriteriaViewSchema = z.object({ storeId: z.string(), builtIn: z.boolean(), criteria: ReplacementCriteriaSchema });

const CandidateSchema = z.object({
  id: z.string(),
  storeId: z.string(),
  deliveryId: z.string(),
  cycle: z.string().describe('the vehicle\'s year of ownership it was screened in, e.g. year-4'),
  screenedAt: z.date(),
  status: z.enum(CANDIDATE_STATUSES),
  facts: z.object({ ageMonths: z.number(), model: z.string(), lastServiceOn: z.string().nullable(), forecastKm: z.number().nullable() }),
  vehicle: z.object({ vin: z.string(), model: z.string(), plate: z.string().nullable() }),
  customer: z.object({ id: z.string(), name: z.string(), phone: z.string().nullable() }),
  consultant: z.object({ id: z.string(), name: z.string(), active: z.boolean() }),
  decidedById: z.string().nullable(),
  decidedAt: z.date().nullable(),
  note: z.string().nullable(),
  followUpId: z.string().nullable().describe('the consultant\'s outreach call, once passed'),
  caseId: z.string().nullable().describe('the data-fix case for the store\'s CR, when marked wrong_data'),
});

/** A little clock skew between the DMS and us is fine; a visit in the future is not. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A pass no retry can turn into a call: a 409 of its own name, so a client tells it from someone else's decision. */
const noCallPossible = (message: string) => new HttpError(409, 'NoCallPossible', message);

const CANDIDATE_INCLUDE = { delivery: { include: { vehicle: true, customer: true, consultant: true } } } as const;
type CandidateRow = Prisma.ReplacementCandidateGetPayload<{ include: typeof CANDIDATE_INCLUDE }>;

const view = (c: CandidateRow): z.infer<typeof CandidateSchema> => ({
  id: c.id, storeId: c.storeId, deliveryId: c.deliveryId, cycle: c.cycle, screenedAt: c.screenedAt, status: c.status as z.infer<typeof CandidateSchema>['status'],
  facts: c.facts as z.infer<typeof CandidateSchema>['facts'],
  vehicle: { vin: c.delivery.vehicle.vin, model: c.delivery.vehicle.model, plate: c.delivery.vehicle.plate },
  customer: { id: c.delivery.customer.id, name: c.delivery.customer.name, phone: c.delivery.customer.phone },
  consultant: { id: c.delivery.consultant.id, name: c.delivery.consultant.name, active: c.delivery.consultant.active },
  decidedById: c.decidedById, decidedAt: c.decidedAt, note: c.note, followUpId: c.followUpId, caseId: c.caseId,
});

/**
 * Replacement-cycle outreach (I-1): the store's screening criteria (its morning run screens with
 * them), the screened candidates CR pre-screens (already replaced, no intent, wrong data, pass),
 * and a pass, which the vehicle's workflow turns into the consultant's outreach call; and the
 * showroom visits the DMS reports, which turn an invitation that booked one into "came".
 */
export const replacementRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  app.get('/v1/stores/:storeId/replacement-criteria', {
    schema: {
      tags: ['replacement'], summary: 'The store\'s replacement screening criteria (built in, screening off, until the store saves its own)',
      params: StoreParamsSchema, response: { 200: CriteriaViewSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    assertCan(actorOf(req), 'replacement.screen', req.params.storeId);
    const store = await db.store.findUnique({ where: { id: req.params.storeId } });
    if (!store) throw notFound(`store ${req.params.storeId}`);
    return { storeId: store.id, ...criteriaOf(store.replacementCriteria) };
  });

  app.put('/v1/stores/:storeId/replacement-criteria', {
    schema: {
      tags: ['replacement'], summary: 'Save the store\'s replacement screening criteria (vehicle age, models, last service, mileage); audited',
      params: StoreParamsSchema, body: ReplacementCriteriaSchema, response: { 200: CriteriaViewSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    assertCan(actor, 'store.settings', req.params.storeId);
    const criteria = req.body as Prisma.InputJsonObject;
    await db.$transaction(async (tx) => {
      const store = await tx.store.findUnique({ where: { id: req.params.storeId } });
      if (!store) throw notFound(`store ${req.params.storeId}`);
      await tx.store.update({ where: { id: store.id }, data: { replacementCriteria: criteria } });
      await recordAudit(tx, {
        actor: auditActorOf(actor), action: 'store.replacement-criteria', entity: 'store', entityId: store.id, storeId: store.id,
        before: { replacementCriteria: store.replacementCriteria }, after: { replacementCriteria: criteria },
      });
    });
    return { storeId: req.params.storeId, builtIn: false, criteria: req.body };
  });

  app.get('/v1/stores/:storeId/replacement-candidates', {
    schema: {
      tags: ['replacement'], summary: 'The screened candidates for CR\'s pre-screening, oldest first (pending by default)',
      params: StoreParamsSchema,
      querystring: z.strictObject({ status: z.enum(CANDIDATE_STATUSES).default('pending'), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      response: { 200: z.object({ candidates: z.array(CandidateSchema) }), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    assertCan(actorOf(req), 'replacement.screen', req.params.storeId);
    const rows = await db.replacementCandidate.findMany({
      where: { storeId: req.params.storeId, status: req.query.status }, include: CANDIDATE_INCLUDE,
      orderBy: [{ screenedAt: 'asc' }, { id: 'asc' }], take: req.query.limit,
    });
    return { candidates: rows.map(view) };
  });

  app.post('/v1/replacement-candidates/:id/decision', {
    schema: {
      tags: ['replacement'],
      summary: 'CR\'s pre-screening decision: already_replaced, no_intent, wrong_data (a data-fix case for the store\'s CR), or pass (the consultant\'s outreach call is opened; '
        + 'a 409 with nothing recorded when none can be, a 503 with the pass standing when not just now). One decision per candidate: a second one is a 409; the same request again answers as the first',
      params: z.object({ id: z.uuid() }), body: ReplacementDecisionBodySchema,
      response: { 200: CandidateSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 503: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const stores = storeIdsOf(actor);
    const candidate = await db.replacementCandidate.findFirst({ where: { id: req.params.id, ...(stores && { storeId: { in: stores } }) }, include: { delivery: { select: { status: true } } } });
    if (!candidate) throw notFound(`replacement candidate ${req.params.id}`);
    assertCan(actor, 'replacement.screen', candidate.storeId);
    // Sold, transferred or scrapped since the screening: nobody left to call.
    if (req.body.decision === 'pass' && candidate.status === 'pending' && candidate.delivery.status === 'ended') throw noCallPossible('the ownership has ended since the screening: mark it already_replaced or wrong_data');
    const staffId = actor.kind === 'staff' ? membershipAt(actor, candidate.storeId, 'cr_specialist')!.staffId : null;
    const result = await decideCandidate({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, {
      candidateId: candidate.id, decision: req.body.decision, note: req.body.note,
      deciderId: staffId ?? actor.id, auditActor: auditActorOf(actor, staffId),
    });
    if (result.kind === 'conflict') throw new HttpError(409, 'AlreadyDecided', `replacement candidate ${candidate.id} was already decided (${result.status})`);
    if (result.kind === 'refused') throw noCallPossible(`no outreach call can be opened: ${result.reason}; nothing was recorded, the candidate is still pending (mark it no_intent, already_replaced or wrong_data)`);
    if (result.kind === 'unavailable') throw new HttpError(503, 'Unavailable', 'passed, but the call could not be opened just now: send the same request again');
    req.log.info({ candidateId: candidate.id, storeId: candidate.storeId, decision: req.body.decision, actor: `${actor.kind}:${actor.id}` }, 'replacement candidate decided');
    return view(await db.replacementCandidate.findUniqueOrThrow({ where: { id: candidate.id }, include: CANDIDATE_INCLUDE }));
  });

  app.post('/v1/deliveries/:id/showroom-visits', {
    schema: {
      tags: ['replacement'],
      summary: `A showroom visit the DMS reports: the vehicle's outreach call that booked it (closed within ${INVITATION_VISIT_DAYS} days before) counts as came for the invitation-to-visit KPI; `
        + 'outreachCallId is null when no invitation booked this visit. The same report again changes nothing more',
      params: z.object({ id: z.uuid() }),
      body: z.strictObject({ visitedAt: boundedDateTime().describe('not in the future, not before the delivery') }),
      response: { 200: z.object({ deliveryId: z.string(), outreachCallId: z.string().nullable() }), 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const delivery = await db.delivery.findFirst({ where: { id: req.params.id, AND: [deliveryWhere(actor)] } });
    if (!delivery) throw notFound(`delivery ${req.params.id}`);
    // Staff record a visit on the call's outcome; this report is the DMS's, as its vehicle events are.
    if (!can(actor, 'delivery.create', delivery.storeId)) throw forbidden('showroom visits come from the DMS');
    const visitedAt = new Date(req.body.visitedAt);
    if (visitedAt.getTime() > Date.now() + CLOCK_SKEW_MS) throw badRequest('visitedAt', 'must not be in the future');
    if (visitedAt < delivery.deliveredAt) throw badRequest('visitedAt', `must not be before the delivery (${delivery.deliveredAt.toISOString()})`);
    const { outreachCallId } = await recordShowroomVisit(db, { deliveryId: delivery.id, visitedAt, auditActor: auditActorOf(actor) });
    req.log.info({ deliveryId: delivery.id, storeId: delivery.storeId, outreachCallId, actor: `${actor.kind}:${actor.id}` }, 'showroom visit reported');
    return { deliveryId: delivery.id, outreachCallId };
  });
};
