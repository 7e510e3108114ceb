import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConsentSource } from '../../domain/consent';
import { classifyInboundSms, helpReply, type InboundSmsClassification } from '../../domain/opt-out';
import { normalizePhone } from '../../domain/phone';
import { LocaleSchema } from '../../domain/templates';
import { Prisma } from '../../generated/prisma/client';
import { statusFromTwilio } from '../../messaging/delivery-status';
import {
  allPurposes, applyDeliveryReceipt, CUSTOMER_REPLY_REASON, openDataFixCase, setConsents,
} from '../../messaging/records';
import { TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH, verifyTwilioSignature } from '../../messaging/twilio-webhook';
import { consentChanged, customerReplied, type LifecycleSignal, signalCustomerWorkflows } from '../../messaging/workflow-signals';
import { crSpecialistFor } from '../../services/assignment';
import { actorOf } from '../auth';
import { ErrorBodySchema, forbidden, notFound } from '../errors';
import type { ApiDeps } from '../server';

type Form = Record<string, string | string[]>;

/**
 * application/x-www-form-urlencoded bodies (Twilio's webhooks, one-click unsubscribe) for the
 * routes of the plugin that calls it. Repeated names become arrays, as Twilio signs them.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    const form: Form = {};
    for (const [name, value] of new URLSearchParams(body as string)) {
      const previous = form[name];
      form[name] = previous === undefined ? value : [previous, value].flat();
    }
    done(null, form);
  });
}

/** How far back an SMS digit counts as the answer to a survey. */
const CSAT_ANSWER_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

const StatusCallbackSchema = z.looseObject({
  MessageSid: z.string().min(1),
  MessageStatus: z.string().min(1),
  ErrorCode: z.string().optional(),
});

const InboundSmsSchema = z.looseObject({
  MessageSid: z.string().min(1),
  From: z.string().min(1),
  To: z.string().default(''),
  Body: z.string().default(''),
});

const BounceSchema = z
  .strictObject({
    messageId: z.uuid().optional(),
    /** The Message-ID header of the bounced mail, with or without angle brackets. */
    providerId: z.string().min(1).max(500).optional(),
    type: z.enum(['hard', 'soft']),
    diagnostic: z.string().max(2000).optional(),
  })
  .refine((b) => b.messageId || b.providerId, { message: 'give messageId or providerId', path: ['messageId'] });

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function twimlMessage(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escaped}</Message></Response>`;
}

/** A bounce diagnostic often quotes the address; the stored reason must not. */
function scrubDiagnostic(text: string): string {
  return text.replace(/[^\s<>@"']+@[^\s<>@"']+/g, '[address]').replace(/\+?\d[\d\s-]{6,}\d/g, '[number]').slice(0, 200);
}

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/**
 * Webhooks: Twilio's delivery receipts and inbound SMS (public, signed by Twilio with the auth
 * token over PUBLIC_BASE_URL + path), and email bounces from the MTA's bounce processor (API key).
 */
export const webhookRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  acceptFormBodies(app);
  const publicBase = config.PUBLIC_BASE_URL.replace(/\/+$/, '');

  /** Before validation: a forged or unsigned request learns nothing about what we accept. */
  async function requireTwilioSignature(req: FastifyRequest): Promise<void> {
    const signature = req.headers['x-twilio-signature'];
    const params = req.body && typeof req.body === 'object' ? (req.body as Form) : {};
    const valid = Boolean(config.TWILIO_AUTH_TOKEN) && verifyTwilioSignature({
      authToken: config.TWILIO_AUTH_TOKEN as string,
      url: `${publicBase}${req.url}`,
      params,
      signature: typeof signature === 'string' ? signature : undefined,
    });
    if (!valid) {
      req.log.warn({ url: req.url }, 'webhook rejected: not signed by Twilio');
      throw forbidden('not signed by Twilio');
    }
  }

  app.post(TWILIO_STATUS_PATH, {
    config: { public: true },
    preValidation: requireTwilioSignature,
    schema: {
      tags: ['webhooks'], summary: 'Twilio delivery receipt (statusCallback); signed with X-Twilio-Signature',
      security: [], consumes: ['application/x-www-form-urlencoded'], body: StatusCallbackSchema, response: { 204: z.void(), 403: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const { MessageSid: providerId, MessageStatus, ErrorCode } = req.body;
    const status = statusFromTwilio(MessageStatus);
    if (status) {
      const applied = await applyDeliveryReceipt(db, { providerId, status, ...(ErrorCode && { errorCode: ErrorCode }) }, req.log);
      req.log.info({ messageId: applied.messageId, providerId, receipt: status, status: applied.status }, 'delivery receipt');
    }
    return reply.status(204).send();
  });

  app.post(TWILIO_INBOUND_PATH, {
    config: { public: true },
    preValidation: requireTwilioSignature,
    schema: {
      tags: ['webhooks'], summary: 'Inbound SMS from Twilio: opt-out/in keywords, HELP, survey answers, replies; signed with X-Twilio-Signature',
      // TwiML, sent as text/xml as it is
      security: [], consumes: ['application/x-www-form-urlencoded'], body: InboundSmsSchema, response: { 200: z.string(), 403: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const { MessageSid: providerId, From, To, Body } = req.body;
    const from = normalizePhone(From) ?? From;
    const classification = classifyInboundSms(Body);
    const customers = await db.customer.findMany({ where: { phone: from }, include: { store: true }, orderBy: { createdAt: 'asc' } });
    if (customers.length === 0 && (await db.inboundMessage.count({ where: { providerId, customerId: null } })) === 0) {
      await db.inboundMessage.create({ data: { channel: 'sms', providerId, fromAddress: from, toAddress: To, body: Body, kind: classification.kind } });
      req.log.info({ providerId, kind: classification.kind }, 'inbound SMS from an unknown number');
    }
    for (const customer of customers) {
      // Twilio redelivers a webhook it got no answer to: a customer it was already recorded for is skipped.
      const recorded = await recordInbound({ providerId, from, to: To, body: Body, classification }, customer);
      if (!recorded) continue;
      req.log.info({ providerId, inboundId: recorded.inboundId, customerId: customer.id, storeId: customer.storeId, kind: recorded.kind, caseId: recorded.caseId }, 'inbound SMS');
      const signals: LifecycleSignal[] = [customerReplied({ kind: recorded.kind, messageId: recorded.inboundId })];
      if (recorded.kind === 'opt-out' || recorded.kind === 'opt-in') {
        const granted = recorded.kind === 'opt-in';
        signals.push(consentChanged({ channel: 'sms', purpose: 'service', granted }), consentChanged({ channel: 'sms', purpose: 'marketing', granted }));
      }
      await signalCustomerWorkflows({ db, temporal, log: req.log }, customer.id, signals);
    }
    const locale = LocaleSchema.catch('zh-CN').parse(customers[0]?.locale);
    const stores = [...new Map(customers.map((c) => [c.store.id, c.store])).values()];
    return reply.type('text/xml').send(classification.kind === 'help' ? twimlMessage(helpReply(stores, locale)) : TWIML_EMPTY);
  });

  /**
   * One customer's part of an inbound SMS, in one transaction: the row, then what it asks for.
   * Null when this message was already recorded for the customer (the row is unique per both).
   */
  async function recordInbound(
    sms: { providerId: string; from: string; to: string; body: string; classification: InboundSmsClassification },
    customer: { id: string; storeId: string },
  ): Promise<{ inboundId: string; kind: InboundSmsClassification['kind']; caseId?: string } | null> {
    try {
      return await db.$transaction(async (tx) => {
        const now = new Date();
        let kind = sms.classification.kind;
        let surveyId: string | undefined;
        if (sms.classification.kind === 'csat') {
          const since = new Date(now.getTime() - CSAT_ANSWER_DAYS * DAY_MS);
          const survey = await tx.followUp.findFirst({
            where: {
              delivery: { customerId: customer.id }, survey: true, csat: null,
              OR: [{ status: 'open', dueStart: { gte: since, lte: now } }, { completedAt: { gte: since } }],
            },
            orderBy: { dueStart: 'desc' },
          });
          surveyId = survey?.id;
          // A digit with no survey to answer is just something the customer wrote.
          if (!survey) kind = 'free-text';
        }
        const inbound = await tx.inboundMessage.create({
          data: {
            storeId: customer.storeId, customerId: customer.id, channel: 'sms', providerId: sms.providerId,
            fromAddress: sms.from, toAddress: sms.to, body: sms.body, kind, followUpId: surveyId,
          },
        });
        let caseId: string | undefined;
        if (kind === 'opt-out' || kind === 'opt-in') {
          await setConsents(tx, customer.id, allPurposes('sms', kind === 'opt-in'), ConsentSource.SmsKeyword);
        } else if (kind === 'csat' && surveyId && sms.classification.kind === 'csat') {
          const score = sms.classification.score;
          const survey = await tx.followUp.update({ where: { id: surveyId }, data: { csat: score } });
          // 1-2 on the 5-point scale is a dissatisfied answer (DOMAIN.md section 5): a case, as a call would open.
          if (score <= 2) {
            const assigneeId = await crSpecialistFor(tx, customer.storeId);
            const c = await tx.escalationCase.upsert({
              where: { followUpId_reason: { followUpId: survey.id, reason: 'dissatisfied' } },
              update: {},
              create: { storeId: customer.storeId, deliveryId: survey.deliveryId, followUpId: survey.id, inboundMessageId: inbound.id, reason: 'dissatisfied', detail: `SMS survey answer ${score}/5`, assigneeId },
            });
            caseId = c.id;
          }
        } else if (kind === 'free-text') {
          const delivery = await tx.delivery.findFirst({ where: { customerId: customer.id }, orderBy: [{ status: 'asc' }, { deliveredAt: 'desc' }] });
          if (delivery) {
            const assigneeId = await crSpecialistFor(tx, customer.storeId);
            const c = await tx.escalationCase.create({
              data: { storeId: customer.storeId, deliveryId: delivery.id, inboundMessageId: inbound.id, reason: CUSTOMER_REPLY_REASON, detail: 'the customer wrote back by SMS', assigneeId },
            });
            caseId = c.id;
          }
        }
        return { inboundId: inbound.id, kind, caseId };
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  app.post('/v1/webhooks/email/bounce', {
    schema: {
      tags: ['webhooks'], summary: 'An email bounce from the bounce processor: a hard bounce fails the message, withdraws email consent and opens a data-fix task',
      body: BounceSchema,
      response: {
        200: z.object({ messageId: z.string(), status: z.string(), caseId: z.string().nullable() }),
        400: ErrorBodySchema, 404: ErrorBodySchema,
      },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const { messageId, providerId, type, diagnostic } = req.body;
    const bare = providerId?.replace(/^<|>$/g, '');
    const message = await db.message.findFirst({
      where: messageId ? { id: messageId, channel: 'email' } : { channel: 'email', providerId: { in: [`<${bare}>`, bare as string] } },
    });
    if (!message || (actor.storeId && actor.storeId !== message.storeId)) throw notFound(`email message ${messageId ?? providerId}`);
    const reason = `${type} bounce${diagnostic ? `: ${scrubDiagnostic(diagnostic)}` : ''}`;
    if (type === 'soft') {
      await db.message.update({ where: { id: message.id }, data: { errorCode: 'soft-bounce', errorReason: reason } });
      req.log.info({ messageId: message.id }, 'soft bounce recorded');
      return { messageId: message.id, status: message.status, caseId: null };
    }
    const opened = await db.$transaction(async (tx) => {
      await tx.message.update({ where: { id: message.id }, data: { status: 'failed', errorCode: 'hard-bounce', errorReason: reason, deferredUntil: null } });
      await setConsents(tx, message.customerId, allPurposes('email', false), ConsentSource.Bounced);
      return openDataFixCase(tx, message.id, 'email hard bounce: check the address');
    });
    req.log.info({ messageId: message.id, caseId: opened?.caseId }, 'hard bounce: email consent withdrawn, data-fix task');
    await signalCustomerWorkflows({ db, temporal, log: req.log }, message.customerId, [
      consentChanged({ channel: 'email', purpose: 'service', granted: false }),
      consentChanged({ channel: 'email', purpose: 'marketing', granted: false }),
    ]);
    return { messageId: message.id, status: 'failed', caseId: opened?.caseId ?? null };
  });
};
