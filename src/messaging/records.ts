/**
 * What the send activity and the webhooks record alike: consent changes, delivery receipts, and
 * data-fix tasks for CR staff when a message failed for good.
 */
import type { Db } from '../db/client';
import { type Channel, ConsentSource, type Purpose, PURPOSES } from '../domain/consent';
import { readRows } from '../db/raw';
import { Prisma } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { auditActorOfLabel, recordAudit } from '../services/audit';
import { type CaseWorkflows, type OpenedCase, startCaseWorkflow, writeCaseRow } from '../services/cases';
import { isFinal, type MessageStatus, statusesBefore } from './delivery-status';
import { classifyTwilioError } from './twilio-errors';

type DbClient = Db | Prisma.TransactionClient;
type Log = Pick<Logger, 'info' | 'warn'>;

export const DATA_FIX_REASON = 'data-fix';
export const CUSTOMER_REPLY_REASON = 'customer-reply';

export interface ConsentChange {
  channel: Channel;
  purpose: Purpose;
  granted: boolean;
}

/** Sets consents; `source` says who changed them. Each change is in the audit log, in the same transaction. */
export async function setConsents(db: DbClient, customerId: string, changes: readonly ConsentChange[], source: string): Promise<void> {
  if ('$transaction' in db) return db.$transaction((tx) => setConsents(tx, customerId, changes, source));
  const { storeId } = await db.customer.findUniqueOrThrow({ where: { id: customerId }, select: { storeId: true } });
  const { actor, reason } = auditActorOfLabel(source);
  for (const { channel, purpose, granted } of changes) {
    const where = { customerId_channel_purpose: { customerId, channel, purpose } };
    const before = await db.consent.findUnique({ where });
    await db.consent.upsert({ where, update: { granted, source }, create: { customerId, channel, purpose, granted, source } });
    if (before?.granted === granted) continue;
    await recordAudit(db, {
      // A customer's consents are one record: the audit lists them by customer.
      actor, reason, action: 'consent.change', entity: 'consent', entityId: customerId, storeId,
      before: { channel, purpose, granted: before?.granted ?? null, source: before?.source ?? null }, after: { channel, purpose, granted, source },
    });
  }
}

/** Every purpose of one channel at once: an opt-out, an opt-in, a hard bounce. */
export const allPurposes = (channel: Channel, granted: boolean): ConsentChange[] =>
  PURPOSES.map((purpose) => ({ channel, purpose, granted }));

/**
 * The row of a case for CR staff to correct the customer's contact data (or consent) after a
 * message failed for good, written in the caller's transaction (one per message however often its
 * failure is reported; later failures join an open one of the same delivery and channel). The
 * caller starts its workflow once the transaction commits (src/services/cases.ts).
 */
export function openDataFixCase(tx: Prisma.TransactionClient, messageId: string, detail: string): Promise<OpenedCase | null> {
  return writeCaseRow(tx, { reason: DATA_FIX_REASON, messageId, detail });
}

export interface DeliveryReceipt {
  providerId: string;
  status: MessageStatus;
  errorCode?: string;
}

/** How long a receipt waits for its provider ID to be recorded; the adopting look-up brings the status anyway. */
const PENDING_RECEIPT_TTL_MS = 24 * 60 * 60 * 1000;

type ReceiptResult = { messageId: string | null; status: string | null; caseId?: string };

/**
 * Applies a provider's delivery receipt. The status only moves forward, in one conditional update,
 * so receipts arriving out of order or twice cannot move a final status back. A permanent failure
 * opens a data-fix task; an opted-out number also loses SMS consent. A receipt can come before the
 * send has recorded the provider ID (its answer was slow or lost): it is kept until then.
 */
export async function applyDeliveryReceipt(db: Db, receipt: DeliveryReceipt, log: Log, cases: CaseWorkflows): Promise<ReceiptResult> {
  const applied = await applyToMessage(db, receipt, log, cases);
  if (applied) return applied;
  await db.pendingReceipt.deleteMany({ where: { receivedAt: { lt: new Date(Date.now() - PENDING_RECEIPT_TTL_MS) } } });
  await db.pendingReceipt.upsert({
    where: { providerId_status: { providerId: receipt.providerId, status: receipt.status } },
    update: {},
    create: { providerId: receipt.providerId, status: receipt.status, errorCode: receipt.errorCode ?? null },
  });
  // The send may have recorded the ID (and found nothing pending) since the update above.
  return (await applyPendingReceipts(db, receipt.providerId, log, cases)) ?? { messageId: null, status: null };
}

/** Applies the receipts kept for a provider ID before a message carried it; the send calls it once it records the ID. */
export async function applyPendingReceipts(db: Db, providerId: string, log: Log, cases: CaseWorkflows): Promise<ReceiptResult | null> {
  // On every send (receipts rarely wait for one): a prepared read, not a compiled Prisma query.
  const pending = await readRows<{ status: string; errorCode: string | null }>(db, Prisma.sql`
    SELECT "status", "errorCode" FROM "PendingReceipt" WHERE "providerId" = ${providerId}`, { prepared: 'pending-receipts' });
  let last: ReceiptResult | null = null;
  for (const { status, errorCode } of pending) {
    last = (await applyToMessage(db, { providerId, status: status as MessageStatus, ...(errorCode && { errorCode }) }, log, cases)) ?? last;
  }
  if (last) await db.pendingReceipt.deleteMany({ where: { providerId, status: { in: pending.map((p) => p.status) } } });
  return last;
}

/** Null when no message carries the provider ID. */
async function applyToMessage(db: Db, receipt: DeliveryReceipt, log: Log, cases: CaseWorkflows): Promise<ReceiptResult | null> {
  const failure = receipt.errorCode && /^\d+$/.test(receipt.errorCode) ? classifyTwilioError({ code: Number(receipt.errorCode) }) : undefined;
  const failed = receipt.status === 'undelivered' || receipt.status === 'failed';
  await db.message.updateMany({
    where: { providerId: receipt.providerId, status: { in: statusesBefore(receipt.status) } },
    data: {
      status: receipt.status,
      ...(failed && receipt.errorCode && { errorCode: receipt.errorCode }),
      ...(failed && failure && { errorReason: failure.reason }),
    },
  });
  const message = await db.message.findFirst({ where: { providerId: receipt.providerId }, select: { id: true, customerId: true, channel: true, status: true } });
  if (!message) return null;
  // Acted on while the message shows this very receipt, so a redelivered webhook finishes the job.
  if (!failed || !failure || failure.retryable || message.status !== receipt.status || !isFinal(message.status)) {
    return { messageId: message.id, status: message.status };
  }
  const opened = await db.$transaction(async (tx) => {
    if (failure.reason === 'opted-out') await setConsents(tx, message.customerId, allPurposes('sms', false), ConsentSource.ProviderOptOut);
    return openDataFixCase(tx, message.id, `${message.channel} ${receipt.status}: ${failure.reason} (error ${receipt.errorCode})`);
  });
  if (opened) await startCaseWorkflow(cases, opened);
  log.info({ messageId: message.id, caseId: opened?.caseId, reason: failure.reason }, 'delivery failed for good: data-fix task');
  return { messageId: message.id, status: message.status, caseId: opened?.caseId };
}
