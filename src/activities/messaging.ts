import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { ContactWindowSchema } from '../domain/contact-window';
import { ConsentSource, earliestSendingInstant, isConsentGiven, type Purpose } from '../domain/consent';
import { ErrorType } from '../domain/errors';
import { CAP_PERIOD_MS, DEFAULT_MESSAGE_CAP_PER_DAY, frequencyCapDecision } from '../domain/frequency-cap';
import { phoneForDisplay } from '../domain/phone';
import { LocaleSchema, pickTemplate, renderTemplate, TemplateVariableMissingError } from '../domain/templates';
import { inTransaction, readRows } from '../db/raw';
import { type Message, Prisma } from '../generated/prisma/client';
import { allPurposes, applyDeliveryReceipt, applyPendingReceipts, openDataFixCase, setConsents } from '../messaging/records';
import { startCaseWorkflow } from '../services/cases';
import { storeTemplates, type TemplateRow } from '../messaging/template-store';
import { paceBookedAhead } from '../messaging/pace';
import { PermanentSendError, RetryableSendError, type Transport } from '../messaging/transports';
import { TWILIO_STATUS_PATH } from '../messaging/twilio-webhook';
import type { ActivityDeps } from './deps';

export interface SendMessageInput {
  /** Unique per (workflow, step): the same key never reaches the customer twice. */
  idempotencyKey: string;
  deliveryId: string;
  followUpId?: string;
  templateKey: string;
  channel: 'sms' | 'email';
  /** A marketing template is marketing whatever this says. */
  purpose: 'service' | 'marketing';
  /** Expire instead of deferring past this instant (ISO 8601): a care SMS a day late, a promotion that ended. */
  notAfter?: string;
}

export interface SendMessageResult {
  messageId: string | null;
  status: 'sent' | 'delivered' | 'undelivered' | 'failed' | 'suppressed' | 'skipped' | 'deferred' | 'expired';
  reason?: string;
  /** With "deferred": sleep until then (a durable timer) and call again with the same input. */
  notBefore?: string;
}

/** What sending needs beyond the shared activity dependencies. */
export interface MessagingActivityDeps extends ActivityDeps {
  /** The clock for quiet hours and the cap; tests pass their own. */
  now?: () => Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Statuses after which a send must not be attempted again. */
const SETTLED = new Set(['sent', 'delivered', 'undelivered', 'failed', 'suppressed']);
/** Statuses that reached (or may have reached) the customer, for the frequency cap. */
const COUNTED = ['sending', 'sent', 'delivered'];
/** Permanent failures that a person fixes in the customer's data; the others are our setup. */
const NOT_DATA_PROBLEMS = new Set(['auth', 'misconfigured']);

export function createMessagingActivities(deps: MessagingActivityDeps) {
  const { db, logger } = deps;
  const clock = deps.now ?? (() => new Date());
  const capPerDay = deps.messageCapPerDay ?? DEFAULT_MESSAGE_CAP_PER_DAY;

  /**
   * An earlier attempt got as far as the provider and its answer was lost (the worker crashed,
   * the call timed out): if the provider has the message, take its ID instead of sending again.
   */
  async function adoptEarlierAttempt(message: Message, transport: Transport): Promise<Message | null> {
    if (!transport.findSent) return null;
    const found = await transport.findSent({ to: message.toAddress, body: message.body, since: message.createdAt });
    for (const candidate of found) {
      // Another of our messages with the same text (another delivery) may already own this one.
      const owner = await db.message.findFirst({ where: { providerId: candidate.providerId }, select: { id: true } });
      if (owner && owner.id !== message.id) continue;
      const { count } = await db.message.updateMany({
        where: { id: message.id, providerId: null },
        data: { status: 'sent', providerId: candidate.providerId, sentAt: clock(), deferredUntil: null, errorReason: null, errorCode: null },
      });
      // Zero: an attempt running at the same time recorded its provider ID first; that one stands.
      if (count > 0) {
        // Receipts for it came while we did not know its ID: apply what it has reached.
        await applyDeliveryReceipt(db, candidate, logger, deps);
        await applyPendingReceipts(db, candidate.providerId, logger, deps);
        logger.info({ messageId: message.id, transport: transport.name }, 'earlier attempt had reached the provider: adopted, not sent again');
      }
      return db.message.findUniqueOrThrow({ where: { id: message.id } });
    }
    return null;
  }

  const messageByKey = (key: string) => readRows<Message>(db, Prisma.sql`SELECT * FROM "Message" WHERE "idempotencyKey" = ${key}`, { prepared: 'message-by-key' });

  /**
   * The delivery with all a send reads of it, in one statement: customer, store, consultant,
   * vehicle, the store's own templates and the customer's consents on the channel. Null when
   * there is no such delivery.
   */
  async function sendingContext(input: SendMessageInput) {
    if (!UUID.test(input.deliveryId)) return null;
    const [found] = await readRows<{
      id: string;
      customer: { id: string; name: string; phone: string; email: string | null; locale: string; contactWindowStart: string; contactWindowEnd: string };
      store: { id: string; name: string; serviceHotline: string | null; timeZone: string };
      consultant: { name: string; phone: string | null };
      vehicle: { model: string };
      templates: TemplateRow[];
      consents: { purpose: string; granted: boolean }[];
    }>(db, Prisma.sql`
      SELECT d.id::text AS id,
        json_build_object('id', c.id, 'name', c.name, 'phone', c.phone, 'email', c.email, 'locale', c.locale,
          'contactWindowStart', c."contactWindowStart", 'contactWindowEnd', c."contactWindowEnd") AS customer,
        json_build_object('id', s.id, 'name', s.name, 'serviceHotline', s."serviceHotline", 'timeZone', s."timeZone") AS store,
        json_build_object('name', st.name, 'phone', st.phone) AS consultant,
        json_build_object('model', v.model) AS vehicle,
        (SELECT coalesce(json_agg(t), '[]') FROM "MessageTemplate" t WHERE t."storeId" = d."storeId") AS templates,
        (SELECT coalesce(json_agg(json_build_object('purpose', k.purpose, 'granted', k.granted)), '[]') FROM "Consent" k
          WHERE k."customerId" = d."customerId" AND k.channel = ${input.channel}) AS consents
      FROM "Delivery" d
      JOIN "Customer" c ON c.id = d."customerId"
      JOIN "Store" s ON s.id = d."storeId"
      JOIN "Staff" st ON st.id = d."consultantId"
      JOIN "Vehicle" v ON v.id = d."vehicleId"
      WHERE d.id = ${input.deliveryId}::uuid`, { prepared: 'send-context' });
    return found ?? null;
  }

  async function recordPermanentFailure(message: Message, err: PermanentSendError): Promise<never> {
    const dataProblem = !NOT_DATA_PROBLEMS.has(err.reason);
    const opened = await db.$transaction(async (tx) => {
      await tx.message.update({
        where: { id: message.id },
        data: { status: 'failed', errorReason: err.reason, errorCode: err.code ?? null, deferredUntil: null },
      });
      if (err.reason === 'opted-out') {
        await setConsents(tx, message.customerId, allPurposes(message.channel as 'sms' | 'email', false), ConsentSource.ProviderOptOut);
      }
      return dataProblem ? openDataFixCase(tx, message.id, `${message.channel} refused: ${err.reason}${err.code ? ` (error ${err.code})` : ''}`) : null;
    });
    if (opened) await startCaseWorkflow(deps, opened);
    const log = dataProblem ? logger.warn.bind(logger) : logger.error.bind(logger);
    log({ messageId: message.id, deliveryId: message.deliveryId, reason: err.reason, code: err.code, caseId: opened?.caseId }, 'message failed for good');
    const type = err.reason === 'opted-out' ? ErrorType.RecipientOptedOut
      : err.reason === 'invalid-number' ? ErrorType.InvalidRecipient
        : dataProblem ? ErrorType.MessageRejected : ErrorType.TransportMisconfigured;
    throw ApplicationFailure.nonRetryable(err.message, type);
  }

  return {
    /**
     * Sends one message at most once. The Message row is written (keyed by the idempotency key)
     * before the provider is called; consent, quiet hours and the frequency cap are checked at
     * send time, because a retry or a delayed worker may run long after the step was scheduled.
     * Every send of a morning burst runs this: its reads and writes go to the pool as prepared
     * statements (src/db/raw.ts), as Prisma compiled each query anew (22 ms of CPU a send, now 7).
     */
    async sendMessage(input: SendMessageInput): Promise<SendMessageResult> {
      const [existing] = await messageByKey(input.idempotencyKey);
      if (existing && SETTLED.has(existing.status)) {
        return { messageId: existing.id, status: existing.status as SendMessageResult['status'], ...(existing.errorReason && { reason: existing.errorReason }) };
      }

      const delivery = await sendingContext(input);
      if (!delivery) throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} not found`, ErrorType.RecordNotFound);
      const { customer, store, consultant, vehicle } = delivery;
      const to = input.channel === 'sms' ? customer.phone : customer.email;
      if (!to) return { messageId: null, status: 'skipped', reason: `customer has no ${input.channel === 'sms' ? 'phone' : 'email'}` };

      const locale = LocaleSchema.catch('zh-CN').parse(customer.locale);
      const template = pickTemplate(storeTemplates(delivery.templates, store.id, logger), { key: input.templateKey, channel: input.channel, locale });
      if (!template) throw ApplicationFailure.nonRetryable(`no ${input.channel} template ${input.templateKey}`, ErrorType.TemplateNotFound);
      const purpose: Purpose = template.purpose === 'marketing' || input.purpose === 'marketing' ? 'marketing' : 'service';
      let rendered;
      try {
        rendered = renderTemplate(template, {
          customerName: customer.name,
          storeName: store.name,
          consultantName: consultant.name,
          consultantPhone: phoneForDisplay(consultant.phone ?? store.serviceHotline ?? '', template.locale),
          serviceHotline: phoneForDisplay(store.serviceHotline ?? consultant.phone ?? '', template.locale),
          vehicleModel: vehicle.model,
        });
      } catch (err) {
        if (err instanceof TemplateVariableMissingError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.TemplateVariableMissing);
        throw err;
      }

      const transport = input.channel === 'sms' ? deps.sms : deps.email;
      const created = existing ? [] : await readRows<Message>(db, Prisma.sql`
        INSERT INTO "Message" ("id", "idempotencyKey", "storeId", "customerId", "deliveryId", "followUpId", "channel", "purpose", "templateKey",
          "locale", "transport", "toAddress", "subject", "body", "updatedAt")
        VALUES (${randomUUID()}::uuid, ${input.idempotencyKey}, ${store.id}, ${customer.id}::uuid, ${delivery.id}::uuid, ${input.followUpId ?? null}::uuid,
          ${input.channel}, ${purpose}, ${template.key}, ${template.locale}, ${transport.name}, ${to}, ${rendered.subject ?? null}, ${rendered.body}, ${new Date()})
        ON CONFLICT ("idempotencyKey") DO NOTHING RETURNING *`, { prepared: 'message-create' });
      // None created: an attempt running at the same time wrote it first, and that row is this message.
      let message = existing ?? created[0] ?? (await messageByKey(input.idempotencyKey))[0];
      const log = { messageId: message.id, deliveryId: delivery.id, transport: transport.name, template: template.key };

      if (message.status === 'sending' && !message.providerId) {
        const adopted = await adoptEarlierAttempt(message, transport);
        if (adopted) return { messageId: adopted.id, status: adopted.status as SendMessageResult['status'] };
        // Not found yet, but the earlier request may still be accepted: sending now could make two.
        const waitMs = (message.inFlightUntil?.getTime() ?? 0) - clock().getTime();
        if (waitMs > 0) {
          logger.info({ ...log, waitMs }, 'earlier attempt may still be accepted: looking again once it cannot');
          throw ApplicationFailure.create({
            message: 'an earlier attempt may still be accepted by the provider',
            type: ErrorType.EarlierAttemptInFlight,
            nextRetryDelay: waitMs,
          });
        }
      }

      // Consent is checked when sending (read with the delivery above), not when scheduling: an opt-out may have arrived since.
      if (!isConsentGiven(purpose, delivery.consents.find((c) => c.purpose === purpose))) {
        await db.message.update({ where: { id: message.id }, data: { status: 'suppressed', errorReason: 'no consent', deferredUntil: null } });
        logger.info({ ...log, purpose }, 'message suppressed: no consent');
        return { messageId: message.id, status: 'suppressed', reason: 'no consent' };
      }

      const expire = async (reason: 'quiet-hours' | 'frequency-cap' | 'pace'): Promise<SendMessageResult> => {
        await db.message.update({ where: { id: message.id }, data: { status: 'expired', errorReason: `${reason} past notAfter`, deferredUntil: null, inFlightUntil: null } });
        logger.info({ ...log, reason }, 'message expired: it could not go out in time');
        return { messageId: message.id, status: 'expired', reason: `${reason} past notAfter` };
      };
      const defer = async (notBefore: Date, reason: 'quiet-hours' | 'frequency-cap'): Promise<SendMessageResult> => {
        if (input.notAfter && notBefore.getTime() > Date.parse(input.notAfter)) return expire(reason);
        await db.message.update({ where: { id: message.id }, data: { deferredUntil: notBefore } });
        logger.info({ ...log, reason, notBefore: notBefore.toISOString() }, 'message deferred');
        return { messageId: message.id, status: 'deferred', reason, notBefore: notBefore.toISOString() };
      };

      // Quiet hours at send time too: a late retry or a delayed worker must not text at 23:00.
      const now = clock();
      const customerWindow = ContactWindowSchema.parse({ start: customer.contactWindowStart, end: customer.contactWindowEnd });
      const opensAt = earliestSendingInstant(now, purpose, customerWindow, store.timeZone);
      if (opensAt.getTime() > now.getTime()) return defer(opensAt, 'quiet-hours');

      const pace = input.channel === 'sms' ? deps.smsPace : undefined;

      // The cap counts this channel's messages (an email does not use up the SMS allowance), under a
      // lock on the customer, so two sends at once cannot both take the last place.
      const cap = await inTransaction(db, async (query) => {
        await query(Prisma.sql`SELECT 1 FROM "Customer" WHERE "id" = ${customer.id}::uuid FOR UPDATE`, { prepared: 'lock-customer' });
        // Claims of one customer's messages take turns here; an attempt still running after Temporal
        // gave up on it may have claimed this message since it was read above, and two claims would
        // mean two sends.
        const [current] = await query<Pick<Message, 'status' | 'updatedAt' | 'inFlightUntil'>>(
          Prisma.sql`SELECT "status", "updatedAt", "inFlightUntil" FROM "Message" WHERE "id" = ${message.id}::uuid`, { prepared: 'claim-reread' });
        if (!current) throw new Error(`message ${message.id} vanished while being claimed`);
        const unchanged = current.status === message.status && current.updatedAt.getTime() === message.updatedAt.getTime()
          && current.inFlightUntil?.getTime() === message.inFlightUntil?.getTime();
        if (!unchanged) return 'claimed-elsewhere' as const;
        const since = new Date(now.getTime() - CAP_PERIOD_MS);
        const recent = await query<Pick<Message, 'purpose' | 'sentAt' | 'updatedAt'>>(Prisma.sql`
          SELECT "purpose", "sentAt", "updatedAt" FROM "Message"
          WHERE "customerId" = ${customer.id}::uuid AND "channel" = ${input.channel} AND "id" <> ${message.id}::uuid AND "status" = ANY(${COUNTED}::text[])
            AND ("sentAt" > ${since} OR ("sentAt" IS NULL AND "updatedAt" > ${since}))`, { prepared: 'cap-recent' });
        const decision = frequencyCapDecision({
          purpose, now, capPerDay, recent: recent.map((m) => ({ purpose: m.purpose as Purpose, at: m.sentAt ?? m.updatedAt })),
        });
        if (decision.allowed) {
          // updatedAt dates the claim: the cap counts a message still being sent from then.
          // A paced send may wait for its slot before its request: the window covers that wait too.
          const inFlightUntil = transport.acceptanceWindowMs === undefined ? null : new Date(clock().getTime() + transport.acceptanceWindowMs + (pace?.maxWaitMs ?? 0));
          [message] = await query<Message>(Prisma.sql`
            UPDATE "Message" SET "status" = 'sending', "toAddress" = ${to}, "deferredUntil" = NULL, "updatedAt" = ${now}, "inFlightUntil" = ${inFlightUntil}
            WHERE "id" = ${message.id}::uuid RETURNING *`, { prepared: 'claim' });
        }
        return decision;
      });
      if (cap === 'claimed-elsewhere') {
        // The next attempt reads what the other one did: sent, or still in flight and waited out.
        throw ApplicationFailure.create({ message: 'another attempt claimed this message', type: ErrorType.EarlierAttemptInFlight, nextRetryDelay: 1_000 });
      }
      if (!cap.allowed) return defer(earliestSendingInstant(cap.notBefore, purpose, customerWindow, store.timeZone), 'frequency-cap');

      // The provider's pace, shared by all workers: this message's slot, taken after the claim so that
      // nothing slow comes between the slot and the request. A burst of due reminders queues here; one
      // whose slot comes after its notAfter expires instead of going out late. Without a slot nothing
      // went to the provider, so the claim is given up (expired, or queued for a later attempt).
      if (pace) {
        const slot = await pace.reserve(pace.cost(message.body), input.notAfter ? new Date(input.notAfter) : null);
        if (slot.status === 'past-latest') return expire('pace');
        if (slot.status === 'booked') {
          await db.message.update({ where: { id: message.id }, data: { status: 'queued', inFlightUntil: null } });
          throw paceBookedAhead(slot.retryInMs);
        }
        await sleep(slot.waitMs);
      }

      try {
        const sent = await transport.send({
          to: message.toAddress, subject: message.subject ?? undefined, body: message.body, html: rendered.html,
          idempotencyKey: input.idempotencyKey, purpose, customerId: customer.id,
          statusCallbackUrl: `${deps.publicBaseUrl.replace(/\/+$/, '')}${TWILIO_STATUS_PATH}`,
        });
        // Unless an earlier attempt's adoption recorded its provider ID first (that one stands).
        await readRows(db, Prisma.sql`
          UPDATE "Message" SET "status" = 'sent', "providerId" = ${sent.providerId}, "sentAt" = ${clock()}, "errorReason" = NULL, "errorCode" = NULL, "updatedAt" = ${new Date()}
          WHERE "id" = ${message.id}::uuid AND "providerId" IS NULL`, { prepared: 'message-sent' });
        await applyPendingReceipts(db, sent.providerId, logger, deps);
        logger.info(log, 'message sent');
        return { messageId: message.id, status: 'sent' };
      } catch (err) {
        if (err instanceof PermanentSendError) return recordPermanentFailure(message, err);
        // Left "sending" unless the provider certainly did not take it: the next attempt then looks first,
        // and waits out the in-flight window only when no answer came.
        const notAccepted = err instanceof RetryableSendError && err.notAccepted;
        const answered = err instanceof RetryableSendError && err.answered;
        await db.message.update({
          where: { id: message.id },
          data: {
            ...(notAccepted && { status: 'queued' }),
            ...((notAccepted || answered) && { inFlightUntil: null }),
            errorReason: err instanceof RetryableSendError ? err.reason : 'unexpected error',
            errorCode: err instanceof RetryableSendError ? err.code ?? null : null,
          },
        });
        // Our send errors carry codes only; anything else may quote the recipient, so only its name is logged.
        logger.warn({ ...log, error: err instanceof RetryableSendError ? err.message : (err as Error).name, notAccepted }, 'send failed, will retry');
        throw err;
      }
    },
  };
}
