import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/errors';
import { DEFAULT_TEMPLATES, Locale, LocaleSchema, renderTemplate, Template, TemplateVariableMissingError } from '../domain/templates';
import { PermanentSendError } from '../messaging/transports';
import type { ActivityDeps } from './deps';

export interface SendMessageInput {
  /** Unique per (workflow, step, attempt): the same key never reaches the customer twice. */
  idempotencyKey: string;
  deliveryId: string;
  followUpId?: string;
  templateKey: string;
  channel: 'sms' | 'email';
  purpose: 'service' | 'marketing';
}

export interface SendMessageResult {
  messageId: string | null;
  status: string;
  reason?: string;
}

/** Statuses after which a send must not be attempted again. */
const SETTLED = new Set(['sent', 'delivered', 'undelivered', 'failed', 'suppressed']);

export function createMessagingActivities(deps: ActivityDeps) {
  const { db } = deps;

  async function findTemplate(storeId: string, key: string, locale: Locale, channel: 'sms' | 'email'): Promise<Template> {
    const own = await db.messageTemplate.findFirst({ where: { storeId, key, channel, locale: { in: [locale, 'zh-CN'] } }, orderBy: { locale: locale === 'zh-CN' ? 'asc' : 'desc' } });
    if (own) {
      return {
        key: own.key, locale: LocaleSchema.parse(own.locale), channel, purpose: own.purpose as Template['purpose'],
        subject: own.subject ?? undefined, body: own.body, html: own.html ?? undefined, variables: own.variables as string[],
      };
    }
    const builtIn = DEFAULT_TEMPLATES.find((t) => t.key === key && t.channel === channel && t.locale === locale)
      ?? DEFAULT_TEMPLATES.find((t) => t.key === key && t.channel === channel && t.locale === 'zh-CN');
    if (!builtIn) throw ApplicationFailure.nonRetryable(`no ${channel} template ${key}`, ErrorType.TemplateNotFound);
    return builtIn;
  }

  return {
    async sendMessage(input: SendMessageInput): Promise<SendMessageResult> {
      const existing = await db.message.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
      if (existing && SETTLED.has(existing.status)) return { messageId: existing.id, status: existing.status };

      const delivery = await db.delivery.findUnique({
        where: { id: input.deliveryId },
        include: { customer: true, vehicle: true, consultant: true, store: true },
      });
      if (!delivery) throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} not found`, ErrorType.RecordNotFound);
      const { customer, store, consultant, vehicle } = delivery;
      const to = input.channel === 'sms' ? customer.phone : customer.email;
      if (!to) return { messageId: null, status: 'skipped', reason: `customer has no ${input.channel === 'sms' ? 'phone' : 'email'}` };

      const locale = LocaleSchema.catch('zh-CN').parse(customer.locale);
      const template = await findTemplate(store.id, input.templateKey, locale, input.channel);
      let rendered;
      try {
        rendered = renderTemplate(template, {
          customerName: customer.name,
          storeName: store.name,
          consultantName: consultant.name,
          consultantPhone: consultant.phone ?? store.serviceHotline ?? '',
          serviceHotline: store.serviceHotline ?? consultant.phone ?? '',
          vehicleModel: vehicle.model,
        });
      } catch (err) {
        if (err instanceof TemplateVariableMissingError) throw ApplicationFailure.nonRetryable(err.message, ErrorType.TemplateVariableMissing);
        throw err;
      }

      const transport = input.channel === 'sms' ? deps.sms : deps.email;
      const message = existing ?? await db.message.upsert({
        where: { idempotencyKey: input.idempotencyKey },
        update: {},
        create: {
          idempotencyKey: input.idempotencyKey, storeId: store.id, customerId: customer.id, deliveryId: delivery.id,
          followUpId: input.followUpId, channel: input.channel, purpose: template.purpose, templateKey: template.key,
          locale: template.locale, transport: transport.name, toAddress: to, subject: rendered.subject, body: rendered.body,
        },
      });

      // Consent is checked when sending, not when scheduling: an opt-out may have arrived since.
      const consent = await db.consent.findUnique({
        where: { customerId_channel_purpose: { customerId: customer.id, channel: input.channel, purpose: template.purpose } },
      });
      const allowed = consent ? consent.granted : template.purpose === 'service';
      if (!allowed) {
        await db.message.update({ where: { id: message.id }, data: { status: 'suppressed', errorReason: 'no consent' } });
        return { messageId: message.id, status: 'suppressed', reason: 'no consent' };
      }

      await db.message.update({ where: { id: message.id }, data: { status: 'sending' } });
      try {
        const sent = await transport.send({
          to, subject: rendered.subject, body: rendered.body, html: rendered.html, idempotencyKey: input.idempotencyKey,
          statusCallbackUrl: `${deps.publicBaseUrl}/v1/webhooks/twilio/status`,
        });
        const updated = await db.message.update({
          where: { id: message.id },
          data: { status: sent.status, providerId: sent.providerId, sentAt: new Date(), errorReason: null },
        });
        deps.logger.info({ messageId: message.id, deliveryId: delivery.id, transport: transport.name, template: template.key }, 'message sent');
        return { messageId: updated.id, status: updated.status };
      } catch (err) {
        if (err instanceof PermanentSendError) {
          await db.message.update({ where: { id: message.id }, data: { status: 'failed', errorReason: err.reason, errorCode: err.code } });
          throw ApplicationFailure.nonRetryable(err.message, err.reason === 'opted-out' ? ErrorType.RecipientOptedOut : ErrorType.InvalidRecipient);
        }
        await db.message.update({ where: { id: message.id }, data: { errorReason: String((err as Error).message ?? err).slice(0, 200) } });
        throw err;
      }
    },
  };
}
