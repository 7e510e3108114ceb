/**
 * Delivery receipts arrive out of order (Twilio posts each status change separately, and retries
 * them), so a status only ever moves forward: queued < sending < sent < a final one. Pure.
 */
export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';

const RANK: Readonly<Record<MessageStatus, number>> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
};

const FINAL_STATUSES: readonly MessageStatus[] = ['delivered', 'undelivered', 'failed'];

/** Twilio's MessageStatus values mapped to ours; null for ones that say nothing about delivery. */
const FROM_TWILIO: Readonly<Record<string, MessageStatus>> = {
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};

export function statusFromTwilio(twilioStatus: string): MessageStatus | null {
  return FROM_TWILIO[twilioStatus.toLowerCase()] ?? null;
}

/** The stored statuses a receipt saying `next` may replace; a final status is never replaced. */
export function statusesBefore(next: MessageStatus): MessageStatus[] {
  return (Object.keys(RANK) as MessageStatus[]).filter((status) => RANK[status] < RANK[next]);
}

export function isFinal(status: string): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}
