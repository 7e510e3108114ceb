import dayjs from 'dayjs';

export const when = (iso: string | null | undefined) => (iso ? dayjs(iso).format('YYYY-MM-DD HH:mm') : '—');
export const windowOf = (start: string, end: string) => `${when(start)} – ${dayjs(end).format(dayjs(end).isSame(start, 'day') ? 'HH:mm' : 'MM-DD HH:mm')}`;

const STATUS_COLORS: Record<string, string> = {
  open: 'processing', done_on_time: 'success', done_late: 'warning', missed: 'error', failed: 'error', cancelled: 'default',
  delivered: 'success', sent: 'processing', queued: 'default', undelivered: 'error', expired: 'default', resolved: 'success', closed: 'default',
};
export const statusColor = (status: string) => STATUS_COLORS[status] ?? 'default';

/** A phone number as lists show it, as the API's logs mask it (src/logger.ts): +8613812345678 -> +86138****5678. */
export const maskedPhone = (phone: string) => (phone.length < 8 ? '****' : `${phone.slice(0, -8)}****${phone.slice(-4)}`);
