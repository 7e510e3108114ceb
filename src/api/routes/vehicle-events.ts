import { ActivityFailure, ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { localDateOf } from '../../domain/local-time';
import type { VehicleEvent } from '../../domain/years';
import { VehicleEventInputSchema, type VehicleEventInput } from '../../domain/years-plan';
import { can, deliveryWhere } from '../../services/access';
import { ownershipEndedSignal, recordVehicleEventUpdate } from '../../workflows/contract';
import { actorOf } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, conflict, forbidden, HttpError, notFound } from '../../services/errors';
import type { ApiDeps } from '../server';

/** A little clock skew between the DMS and us is fine; a visit in the future is not. */
const CLOCK_SKEW_MS = 5 * 60_000;

const ResultSchema = z.object({
  deliveryId: z.string(),
  /** "ending" after a sale, transfer or scrapping; "recorded" otherwise */
  status: z.enum(['recorded', 'ending']),
  upcoming: z.array(z.object({ kind: z.string(), key: z.string(), dueOn: z.string(), bookedFor: z.string().optional() })),
});

/** The instant fields of an event, which may not lie in the future nor before the delivery. */
const PAST_INSTANTS = ['visitedAt', 'readAt', 'endedAt'] as const;

type OwnershipEnd = Extract<VehicleEventInput, { kind: 'sold' | 'transferred' | 'scrapped' }>;
const endsOwnership = (e: VehicleEventInput): e is OwnershipEnd => e.kind === 'sold' || e.kind === 'transferred' || e.kind === 'scrapped';

/** The workflow's event, in the store's local dates. */
function workflowEvent(e: Exclude<VehicleEventInput, OwnershipEnd>, timeZone: string): VehicleEvent {
  const day = (iso: string) => localDateOf(new Date(iso), timeZone);
  switch (e.kind) {
    case 'service-booked': return { kind: e.kind, bookedFor: day(e.bookedFor) };
    case 'service-visit': return { kind: e.kind, visitedOn: day(e.visitedAt), maintenance: e.maintenance, ...(e.odometerKm !== undefined && { odometerKm: e.odometerKm }), ...(e.work && { work: e.work }) };
    case 'odometer': return { kind: e.kind, readOn: day(e.readAt), km: e.km };
    default: return e;
  }
}

/**
 * What the DMS reports about a delivered vehicle in the years after: bookings, service visits
 * (odometer, work done), odometer readings, renewed policies, passed inspections, renewed licences,
 * and the sale, transfer or scrapping that ends the ownership. Each goes to the vehicle's workflow,
 * which plans the reminders and calls from it (it is their one writer).
 */
export const vehicleEventRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal }) => {
  app.post('/v1/deliveries/:id/vehicle-events', {
    schema: {
      tags: ['deliveries'],
      summary: 'A DMS vehicle event (booking, service visit, odometer, insurance renewal, inspection, licence, sale/transfer/scrapping): the workflow re-plans the years from it',
      params: z.object({ id: z.uuid() }),
      headers: z.object({ 'idempotency-key': z.string().optional().describe('makes a retried request one request (any unique string, e.g. a UUID)') }),
      body: VehicleEventInputSchema,
      response: { 200: ResultSchema, 202: ResultSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 503: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const delivery = await db.delivery.findFirst({ where: { id: req.params.id, AND: [deliveryWhere(actor)] }, include: { store: true } });
    if (!delivery) throw notFound(`delivery ${req.params.id}`);
    const e: VehicleEventInput = req.body;
    // The DMS reports vehicle events as it reports deliveries; staff end an ownership through /end.
    if (!can(actor, endsOwnership(e) ? 'delivery.end' : 'delivery.create', delivery.storeId)) throw forbidden('vehicle events come from the DMS');
    for (const field of PAST_INSTANTS) {
      const value = (e as Record<string, unknown>)[field];
      if (typeof value !== 'string') continue;
      if (Date.parse(value) > Date.now() + CLOCK_SKEW_MS) throw badRequest(field, 'must not be in the future');
      if (Date.parse(value) < delivery.deliveredAt.getTime()) throw badRequest(field, `must not be before the delivery (${delivery.deliveredAt.toISOString()})`);
    }
    if (delivery.status === 'ended') throw conflict(`the ownership of delivery ${delivery.id} has ended`);
    const handle = temporal.workflow.getHandle(delivery.workflowId);
    const header = req.headers['idempotency-key'];
    if (header !== undefined && !/^[\x21-\x7e]{1,200}$/.test(header)) throw badRequest('idempotency-key', 'up to 200 visible ASCII characters, e.g. a UUID');
    const log = { deliveryId: delivery.id, storeId: delivery.storeId, kind: e.kind, actorId: actor.id };

    if (endsOwnership(e)) {
      try {
        await handle.signal(ownershipEndedSignal, { reason: e.kind, endedAt: e.endedAt ?? new Date().toISOString() });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      req.log.info(log, 'ownership end reported by the DMS');
      return reply.status(202).send({ deliveryId: delivery.id, status: 'ending', upcoming: [] });
    }
    try {
      const result = await handle.executeUpdate(recordVehicleEventUpdate, {
        args: [workflowEvent(e, delivery.store.timeZone)],
        ...(header !== undefined && { updateId: `vehicle-event:${delivery.id}:${header}` }),
      });
      req.log.info(log, 'vehicle event recorded');
      return { deliveryId: delivery.id, status: 'recorded' as const, upcoming: result.upcoming };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict('this delivery\'s follow-up has ended');
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure) {
        if (cause.type === 'InvalidRequest') throw badRequest(cause.message.split(' ')[0], cause.message);
        if (cause.type === 'YearsNotPlanned' || cause.type === 'OwnershipEnded') throw conflict(cause.message);
      }
      // The workflow could not write its KPI rows in a few tries (the database is down), and applied nothing.
      if (cause instanceof ActivityFailure) throw new HttpError(503, 'Unavailable', 'the event could not be recorded just now; nothing was recorded, try again with a new Idempotency-Key');
      throw err;
    }
  });
};
