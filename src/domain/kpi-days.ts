/**
 * Which days of a KPI period the tallies may answer for (src/kpi/queries.ts, KpiTally). Pure: no I/O.
 */
import { DateTime } from 'luxon';

/**
 * The whole store-local days of [from, to) whose required windows had all closed by `asOf`: the
 * KPI tallies (one row per store, staff member and local day) answer for them exactly; the partial
 * days at either end and the days not yet over are counted row by row. Null: no such day.
 */
export function tallyDays(period: { from: Date; to: Date; asOf: Date }, timeZone: string): { from: Date; to: Date; fromDay: string; toDay: string } | null {
  const from = DateTime.fromJSDate(period.from, { zone: timeZone });
  const fromMidnight = from.startOf('day');
  const first = fromMidnight.equals(from) ? fromMidnight : fromMidnight.plus({ days: 1 }).startOf('day');
  const end = DateTime.fromJSDate(new Date(Math.min(period.to.getTime(), period.asOf.getTime())), { zone: timeZone }).startOf('day');
  if (first >= end) return null;
  return { from: first.toJSDate(), to: end.toJSDate(), fromDay: first.toISODate()!, toDay: end.toISODate()! };
}
