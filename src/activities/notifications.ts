import { PermanentSendError } from '../messaging/transports';
import type { ActivityDeps } from './deps';

/** One email to a staff member: the daily digest, a threshold alert. */
export interface StaffNotice {
  staffId: string;
  /** the same key is the same notice: it is sent once however often it is asked for */
  idempotencyKey: string;
  subject: string;
  body: string;
}

/** already: an earlier run of the same notice settled it (sent, skipped or failed) */
export type NoticeStatus = 'sent' | 'skipped' | 'failed' | 'already';

type NotifyDeps = Pick<ActivityDeps, 'db' | 'email' | 'logger'>;

/**
 * A staff notification by email: not a customer message (no consent, quiet hours or frequency
 * cap), but written to StaffNotification before it is sent, so a retry or a second run of the same
 * digest sends nothing twice. A staff member without an email address (or who left) is skipped, and
 * the row says so.
 */
export async function notifyStaffOnce(deps: NotifyDeps, notice: StaffNotice): Promise<NoticeStatus> {
  const { db, logger } = deps;
  const { idempotencyKey, staffId } = notice;
  const earlier = await db.staffNotification.findUnique({ where: { idempotencyKey } });
  if (earlier && earlier.status !== 'sending') return 'already';
  const staff = await db.staff.findUniqueOrThrow({ where: { id: staffId }, select: { email: true, active: true } });
  if (!staff.email || !staff.active) {
    await db.staffNotification.upsert({ where: { idempotencyKey }, update: { status: 'skipped' }, create: { idempotencyKey, staffId, channel: 'email', status: 'skipped' } });
    return 'skipped';
  }
  await db.staffNotification.upsert({ where: { idempotencyKey }, update: {}, create: { idempotencyKey, staffId, channel: 'email' } });
  try {
    // The Message-ID derives from the key: a retry after a lost answer is one message to the mail system.
    const { providerId } = await deps.email.send({ to: staff.email, subject: notice.subject, body: notice.body, idempotencyKey, purpose: 'service', customerId: staffId });
    await db.staffNotification.update({ where: { idempotencyKey }, data: { status: 'sent', providerId, sentAt: new Date() } });
    return 'sent';
  } catch (err) {
    if (!(err instanceof PermanentSendError)) throw err;
    await db.staffNotification.update({ where: { idempotencyKey }, data: { status: 'failed' } });
    logger.warn({ staffId, reason: err.reason }, 'staff notification refused for good');
    return 'failed';
  }
}

export const createNotificationActivities = (deps: NotifyDeps) => ({
  notifyStaff: (notice: StaffNotice): Promise<NoticeStatus> => notifyStaffOnce(deps, notice),
});

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
