import { z } from 'zod';

/**
 * The instants this product can mean: a delivery, a reschedule, a KPI period or a cursor outside
 * 2000-2100 is a typo or a probe. Refusing them at the boundary keeps year-0 and year-10000 dates
 * (which PostgreSQL, luxon and Temporal timers each handle differently) out of every workflow.
 */
export const EARLIEST = new Date('2000-01-01T00:00:00Z');
export const LATEST = new Date('2100-12-31T23:59:59.999Z');

export function inSaneRange(at: Date): boolean {
  return at.getTime() >= EARLIEST.getTime() && at.getTime() <= LATEST.getTime();
}

const RANGE_MESSAGE = 'must lie between 2000-01-01 and 2100-12-31';

/** An ISO 8601 date-time with an offset, within 2000-2100; the value stays a string. */
export const boundedDateTime = () =>
  z.iso.datetime({ offset: true }).refine((v) => inSaneRange(new Date(v)), RANGE_MESSAGE);

/** An ISO 8601 calendar date (YYYY-MM-DD) within 2000-2100. */
export const boundedDate = () =>
  z.iso.date().refine((v) => inSaneRange(new Date(`${v}T00:00:00Z`)), RANGE_MESSAGE);
