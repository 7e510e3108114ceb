import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ChannelSchema, ConsentSource, effectiveConsents, PurposeSchema } from '../../domain/consent';
import { setConsents } from '../../messaging/records';
import { UNSUBSCRIBE_PATH, unsubscribeLinks } from '../../messaging/unsubscribe';
import { consentChanged, signalCustomerWorkflows } from '../../messaging/workflow-signals';
import { customerWhere } from '../../services/access';
import { actorLabel, actorOf } from '../auth';
import { ErrorBodySchema } from '../errors';
import { HttpError, notFound } from '../../services/errors';
import type { ApiDeps } from '../server';
import { acceptFormBodies } from './webhooks';

const ConsentViewSchema = z.object({
  customerId: z.string(),
  consents: z.array(z.object({
    channel: ChannelSchema,
    purpose: PurposeSchema,
    granted: z.boolean(),
    source: z.string(),
    updatedAt: z.string().nullable(),
  })),
});

const ConsentChangesSchema = z.strictObject({
  consents: z
    .array(z.strictObject({ channel: ChannelSchema, purpose: PurposeSchema, granted: z.boolean() }))
    .min(1)
    .refine((list) => new Set(list.map((c) => `${c.channel}:${c.purpose}`)).size === list.length, 'each channel and purpose at most once'),
});

const TokenQuerySchema = z.object({ token: z.string().min(1).max(200) });

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head>` +
    `<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">${body}</body></html>`;
}

/**
 * Consent per customer x channel x purpose (service defaults to allowed, marketing needs a yes),
 * and the one-click unsubscribe link of marketing email.
 */
export const consentRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  acceptFormBodies(app);
  const links = unsubscribeLinks(config);
  const CustomerParams = z.object({ id: z.uuid() });

  async function customerFor(req: FastifyRequest, id: string) {
    const actor = actorOf(req);
    const customer = await db.customer.findFirst({ where: { id, AND: [customerWhere(actor)] }, select: { id: true, storeId: true } });
    if (!customer) throw notFound(`customer ${id}`);
    return customer;
  }

  async function view(customerId: string): Promise<z.infer<typeof ConsentViewSchema>> {
    const stored = await db.consent.findMany({ where: { customerId } });
    return {
      customerId,
      consents: effectiveConsents(stored).map((c) => ({ ...c, updatedAt: c.updatedAt?.toISOString() ?? null })),
    };
  }

  app.get('/v1/customers/:id/consents', {
    schema: {
      tags: ['consents'], summary: 'The customer\'s consent for each channel and purpose, recorded or by default',
      params: CustomerParams, response: { 200: ConsentViewSchema, 404: ErrorBodySchema },
    },
  }, async (req) => view((await customerFor(req, req.params.id)).id));

  app.put('/v1/customers/:id/consents', {
    schema: {
      tags: ['consents'], summary: 'Record consent given or withdrawn (e.g. on the delivery form); sends check it at send time',
      params: CustomerParams, body: ConsentChangesSchema, response: { 200: ConsentViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const customer = await customerFor(req, req.params.id);
    await setConsents(db, customer.id, req.body.consents, actorLabel(actorOf(req)));
    req.log.info({ customerId: customer.id, changes: req.body.consents }, 'consent changed');
    await signalCustomerWorkflows({ db, temporal, log: req.log }, customer.id, req.body.consents.map(consentChanged));
    return view(customer.id);
  });

  /** The customer a valid token names, or a 400 page. */
  async function unsubscribingCustomer(token: string): Promise<string> {
    const customerId = links.verify(token);
    const customer = customerId && z.uuid().safeParse(customerId).success
      ? await db.customer.findUnique({ where: { id: customerId }, select: { id: true } })
      : null;
    if (!customer) throw new HttpError(400, 'InvalidToken', 'this unsubscribe link is not valid');
    return customer.id;
  }

  // Opening the link only shows a button: mail scanners and link previews fetch URLs with GET,
  // and must not unsubscribe anyone (RFC 8058). Mail clients' one-click unsubscribe POSTs.
  app.get(UNSUBSCRIBE_PATH, {
    config: { public: true },
    schema: { tags: ['consents'], summary: 'The unsubscribe page of a marketing email link', security: [], querystring: TokenQuerySchema },
  }, async (req, reply) => {
    await unsubscribingCustomer(req.query.token);
    const action = `${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(req.query.token)}`;
    return reply.type('text/html; charset=utf-8').send(page('退订 Unsubscribe',
      '<p>不再接收我们的营销邮件？<br>Stop receiving our marketing email?</p>' +
      `<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
      '<button type="submit">退订 Unsubscribe</button></form>' +
      '<p><small>服务通知（如预约提醒）不受影响。Service notices such as appointment reminders are not affected.</small></p>'));
  });

  app.post(UNSUBSCRIBE_PATH, {
    config: { public: true },
    schema: { tags: ['consents'], summary: 'One-click unsubscribe (RFC 8058): withdraws consent to marketing email', security: [], querystring: TokenQuerySchema },
  }, async (req, reply) => {
    const customerId = await unsubscribingCustomer(req.query.token);
    await setConsents(db, customerId, [{ channel: 'email', purpose: 'marketing', granted: false }], ConsentSource.UnsubscribeLink);
    req.log.info({ customerId }, 'unsubscribed from marketing email');
    await signalCustomerWorkflows({ db, temporal, log: req.log }, customerId, [consentChanged({ channel: 'email', purpose: 'marketing', granted: false })]);
    return reply.type('text/html; charset=utf-8').send(page('已退订 Unsubscribed', '<p>您已退订营销邮件。<br>You will no longer receive our marketing email.</p>'));
  });
};
