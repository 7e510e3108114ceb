import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConsentSource } from '../../domain/consent';
import { classifyInboundSms, helpReply, type InboundSmsClassification } from '../../domain/opt-out';
import { normalizePhone } from '../../domain/phone';
import { safeNote, safeText, withoutControlCharacters } from '../../domain/text';
import { LocaleSchema } from '../../domain/templates';
import { Prisma } from '../../generated/prisma/client';
import { statusFromTwilio } from '../../messaging/delivery-status';
import { allPurposes, applyDeliveryReceipt, openDataFixCase, setConsents } from '../../messaging/records';
import { startCaseWorkflow } from '../../services/cases';
import { TWILIO_INBOUND_PATH, TWILIO_STATUS_PATH, verifyTwilioSignature } from '../../messaging/twilio-webhook';
import { consentChanged, customerReplied, type LifecycleSignal, signalCustomerWorkflows } from '../../messaging/workflow-signals';
import { type CustomerAnswer, recordAnswerUpdate } from '../../workflows/contract';
import { reachesStore } from '../../services/access';
import { actorOf, assertApiKey } from '../auth';
import { ErrorBodySchema } from '../errors';
import { forbidden, notFound } from '../../services/errors';
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

// Signed by Twilio, yet bounded: a value PostgreSQL refuses (a NUL) must be a 400, not a 500 that Twilio retries.
const MessageSidSchema = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'a Twilio message SID');

const StatusCallbackSchema = z.looseObject({
  MessageSid: MessageSidSchema,
  MessageStatus: z.string().regex(/^[a-z_-]{1,32}$/, 'a Twilio message status'),
  ErrorCode: z.string().regex(/^\d{1,10}$/, 'a Twilio error code').optional(),
});

const InboundSmsSchema = z.looseObject({
  MessageSid: MessageSidSchema,
  From: safeText(64),
  To: z.string().max(64).default('').transform(withoutControlCharacters),
  /** What the customer wrote: taken as it comes, less the control characters no phone sends. */
  Body: z.string().max(10_000).default('').transform(withoutControlCharacters),
});

const BounceSchema = z
  .strictObject({
    messageId: z.uuid().optional(),
    /** The Message-ID header of the bounced mail, with or without angle brackets. */
    providerId: safeText(500).optional(),
    type: z.enum(['hard', 'soft']),
    diagnostic: safeNote(2000).optional(),
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
  const caseWorkflows = { temporal, taskQueue: config.TEMPORAL_TASK_QUEUE };
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
      const applied = await applyDeliveryReceipt(db, { providerId, status, ...(ErrorCode && { errorCode: ErrorCode }) }, req.log, caseWorkflows);
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
      const recorded = await recordInbound({ providerId, from, to: To, body: Body, classification }, customer);
      req.log.info({ providerId, inboundId: recorded.inboundId, customerId: customer.id, storeId: customer.storeId, kind: recorded.kind, redelivered: !recorded.fresh }, 'inbound SMS');
      // A redelivered webhook (we answered the first one with an error) asks the workflow again;
      // the update's ID, the inbound message's, makes that one answer.
      if (recorded.answer) await answerThroughWorkflow(recorded.answer);
      // Twilio redelivers a webhook it got no answer to: a customer it was already recorded for is not told twice.
      if (!recorded.fresh) continue;
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

  /** An answer for a vehicle's workflow, which records it and opens any case (the webhook writes neither). */
  interface WorkflowAnswer {
    workflowId: string;
    answer: Exclude<CustomerAnswer, { kind: 'call' }>;
  }

  /**
   * Hands the answer to the workflow and returns once the workflow has accepted it (recording it
   * may take a moment; Twilio waits for no one). A workflow that has ended takes no answers: the
   * inbound message stays recorded for CR staff.
   */
  async function answerThroughWorkflow({ workflowId, answer }: WorkflowAnswer): Promise<void> {
    try {
      await temporal.workflow.getHandle(workflowId).startUpdate(recordAnswerUpdate, {
        args: [answer], updateId: `inbound-${answer.inboundMessageId}`, waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) {
        app.log.warn({ workflowId, inboundId: answer.inboundMessageId, error: err.name }, 'the workflow took no answer: the inbound message stays recorded');
        return;
      }
      throw err;
    }
  }

  /**
   * One customer's part of an inbound SMS: the row (unique per message and customer; a redelivery
   * finds it), the consent a keyword changes, and the answer it carries for a workflow, if any:
   * a CSAT digit answers the survey under way, free text asks CR staff for help.
   */
  async function recordInbound(
    sms: { providerId: string; from: string; to: string; body: string; classification: InboundSmsClassification },
    customer: { id: string; storeId: string },
  ): Promise<{ inboundId: string; kind: InboundSmsClassification['kind']; fresh: boolean; answer: WorkflowAnswer | null }> {
    let fresh = true;
    const inbound = await db.$transaction(async (tx) => {
      const now = new Date();
      let kind = sms.classification.kind;
      let surveyId: string | undefined;
      if (sms.classification.kind === 'csat') {
        const since = new Date(now.getTime() - CSAT_ANSWER_DAYS * DAY_MS);
        const survey = await tx.followUp.findFirst({
          where: {
            delivery: { customerId: customer.id, status: 'active' }, survey: true, csat: null,
            OR: [{ status: 'open', dueStart: { gte: since, lte: now } }, { completedAt: { gte: since } }],
          },
          orderBy: { dueStart: 'desc' },
        });
        surveyId = survey?.id;
        // A digit with no survey to answer is just something the customer wrote.
        if (!survey) kind = 'free-text';
      }
      const row = await tx.inboundMessage.create({
        data: {
          storeId: customer.storeId, customerId: customer.id, channel: 'sms', providerId: sms.providerId,
          fromAddress: sms.from, toAddress: sms.to, body: sms.body, kind, followUpId: surveyId,
        },
      });
      if (kind === 'opt-out' || kind === 'opt-in') await setConsents(tx, customer.id, allPurposes('sms', kind === 'opt-in'), ConsentSource.SmsKeyword);
      return row;
    }).catch(async (err: unknown) => {
      if (!isUniqueViolation(err)) throw err;
      fresh = false;
      return db.inboundMessage.findUniqueOrThrow({ where: { providerId_customerId: { providerId: sms.providerId, customerId: customer.id } } });
    });
    const kind = inbound.kind as InboundSmsClassification['kind'];
    return { inboundId: inbound.id, kind, fresh, answer: await answerOf(inbound, customer.id) };
  }

  /** Which workflow an inbound message answers, and how: the survey's for a score, the customer's current delivery's for a reply. */
  async function answerOf(
    inbound: { id: string; kind: string; body: string; followUpId: string | null; receivedAt: Date },
    customerId: string,
  ): Promise<WorkflowAnswer | null> {
    const answeredAt = inbound.receivedAt.toISOString();
    const classification = classifyInboundSms(inbound.body);
    if (inbound.kind === 'csat' && inbound.followUpId && classification.kind === 'csat') {
      const survey = await db.followUp.findUniqueOrThrow({ where: { id: inbound.followUpId }, select: { stepKey: true, delivery: { select: { workflowId: true } } } });
      return {
        workflowId: survey.delivery.workflowId,
        answer: { kind: 'score', stepKey: survey.stepKey, channel: 'sms', csat: classification.score, answeredAt, inboundMessageId: inbound.id },
      };
    }
    if (inbound.kind !== 'free-text') return null;
    const delivery = await db.delivery.findFirst({ where: { customerId, status: 'active' }, orderBy: { deliveredAt: 'desc' }, select: { workflowId: true } });
    return delivery && { workflowId: delivery.workflowId, answer: { kind: 'reply', channel: 'sms', answeredAt, inboundMessageId: inbound.id } };
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
    assertApiKey(actor);
    const { messageId, providerId, type, diagnostic } = req.body;
    const bare = providerId?.replace(/^<|>$/g, '');
    const message = await db.message.findFirst({
      where: messageId ? { id: messageId, channel: 'email' } : { channel: 'email', providerId: { in: [`<${bare}>`, bare as string] } },
    });
    if (!message || !reachesStore(actor, message.storeId)) throw notFound(`email message ${messageId ?? providerId}`);
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
    if (opened) await startCaseWorkflow(caseWorkflows, opened);
    req.log.info({ messageId: message.id, caseId: opened?.caseId }, 'hard bounce: email consent withdrawn, data-fix task');
    await signalCustomerWorkflows({ db, temporal, log: req.log }, message.customerId, [
      consentChanged({ channel: 'email', purpose: 'service', granted: false }),
      consentChanged({ channel: 'email', purpose: 'marketing', granted: false }),
    ]);
    return { messageId: message.id, status: 'failed', caseId: opened?.caseId ?? null };
  });
};
