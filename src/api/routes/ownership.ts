import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ContactWindowSchema } from '../../domain/contact-window';
import { boundedDateTime } from '../../domain/dates';
import { contactWindowChangedSignal, ownershipEndedSignal } from '../../workflows/contract';
import { can, customerWhere, deliveryWhere } from '../../services/access';
import { auditActorOf, recordAudit } from '../../services/audit';
import { actorOf } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, forbidden, notFound } from '../../services/errors';
import type { ApiDeps } from '../server';

const OWNERSHIP_END_REASONS = ['sold', 'transferred', 'scrapped', 'customer_request'] as const;

const EndOwnershipSchema = z.strictObject({
  reason: z.enum(OWNERSHIP_END_REASONS).describe('sold (to a third party), transferred (to another owner), scrapped, or the customer asked us to stop'),
  endedAt: boundedDateTime().optional().describe('when the ownership ended (default: now); not before the delivery, not in the future'),
});

const EndedSchema = z.object({ deliveryId: z.string(), status: z.enum(['ending', 'ended']) });

const ContactWindowViewSchema = z.object({ customerId: z.string(), contactWindow: ContactWindowSchema, deliveriesTold: z.number() });

/** A little clock skew between the DMS and us is fine; a date in the future is not. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The end of an ownership and a customer's new contact window: both go to the vehicle's workflow,
 * which owns the follow-ups (it closes what is left of the plan, and reschedules the calls not yet
 * due). Both are safe to repeat.
 */
export const ownershipRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal }) => {
  app.post('/v1/deliveries/:id/end', {
    schema: {
      tags: ['deliveries'],
      summary: 'End the ownership (sold, transferred, scrapped, or at the customer\'s request): calls whose window has closed stay missed, the rest of the plan is cancelled',
      params: z.object({ id: z.uuid() }),
      body: EndOwnershipSchema,
      response: { 202: EndedSchema, 200: EndedSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const delivery = await db.delivery.findFirst({ where: { id: req.params.id, AND: [deliveryWhere(actor)] } });
    if (!delivery) throw notFound(`delivery ${req.params.id}`);
    if (!can(actor, 'delivery.end', delivery.storeId)) throw forbidden('ending an ownership is for CR specialists and managers');
    if (delivery.status === 'ended') return reply.status(200).send({ deliveryId: delivery.id, status: 'ended' });
    const endedAt = req.body.endedAt ? new Date(req.body.endedAt) : new Date();
    if (endedAt.getTime() > Date.now() + CLOCK_SKEW_MS) throw badRequest('endedAt', 'must not be in the future');
    if (endedAt < delivery.deliveredAt) throw badRequest('endedAt', `must not be before the delivery (${delivery.deliveredAt.toISOString()})`);
    try {
      await temporal.workflow.getHandle(delivery.workflowId).signal(ownershipEndedSignal, { reason: req.body.reason, endedAt: endedAt.toISOString() });
    } catch (err) {
      // The workflow has finished already: its delivery is (or is about to be) recorded as ended.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    req.log.info({ deliveryId: delivery.id, storeId: delivery.storeId, reason: req.body.reason, actorId: actor.id }, 'ownership end requested');
    return reply.status(202).send({ deliveryId: delivery.id, status: 'ending' });
  });

  app.put('/v1/customers/:id/contact-window', {
    schema: {
      tags: ['customers'],
      summary: 'The hours the customer accepts calls and messages (H-1): calls not yet due move into them; open ones keep their required window',
      params: z.object({ id: z.uuid() }),
      body: ContactWindowSchema,
      response: { 200: ContactWindowViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const customer = await db.customer.findFirst({ where: { id: req.params.id, AND: [customerWhere(actor)] } });
    if (!customer) throw notFound(`customer ${req.params.id}`);
    const window = req.body;
    // The sends and call-backs read the window from the customer; the workflows reschedule with it.
    await db.$transaction(async (tx) => {
      await tx.customer.update({ where: { id: customer.id }, data: { contactWindowStart: window.start, contactWindowEnd: window.end } });
      await recordAudit(tx, {
        actor: auditActorOf(actor), action: 'customer.contact-window', entity: 'customer', entityId: customer.id, storeId: customer.storeId,
        before: { start: customer.contactWindowStart, end: customer.contactWindowEnd }, after: window,
      });
    });
    const deliveries = await db.delivery.findMany({ where: { customerId: customer.id, status: 'active' }, select: { workflowId: true } });
    let told = 0;
    for (const { workflowId } of deliveries) {
      try {
        await temporal.workflow.getHandle(workflowId).signal(contactWindowChangedSignal, window);
        told++;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    req.log.info({ customerId: customer.id, storeId: customer.storeId, deliveriesTold: told, actorId: actor.id }, 'contact window changed');
    return { customerId: customer.id, contactWindow: window, deliveriesTold: told };
  });
};
