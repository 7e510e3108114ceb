/**
 * The daily digest of a store for its managers (DOMAIN.md sections 1 and 6): yesterday's missed
 * and late follow-ups, calls overdue now, open and overdue cases, how yesterday moved the month's
 * KPIs, reclaimed customers; and the threshold alerts (seed 002). Pure: the activity reads the
 * data, these functions decide the day and write the mail.
 */
import { DateTime } from 'luxon';
import type { KpiKey } from './kpi';

/** The KPIs the digest shows, in this order. */
export const DIGEST_KPIS = ['timeliness', 'recordingCompletion', 'satisfaction', 'deliverySatisfaction', 'dataAccuracy'] as const satisfies readonly KpiKey[];
/** Rows listed per section; the counts are always whole. */
export const DIGEST_LIST_LIMIT = 20;

export interface DigestDay {
  /** yesterday, YYYY-MM-DD in the store's zone */
  day: string;
  /** yesterday's local midnight, and today's */
  from: Date;
  to: Date;
  /** the first local midnight of yesterday's month: the KPIs' period */
  monthFrom: Date;
  /** the period alerts are kept once for: yesterday's month, YYYY-MM */
  month: string;
}

/** Yesterday, in the store's time zone, as of `asOf` (when the digest runs, in the local morning). */
export function digestDay(asOf: Date, timeZone: string): DigestDay {
  const today = DateTime.fromJSDate(asOf, { zone: timeZone }).startOf('day');
  const yesterday = today.minus({ days: 1 });
  return {
    day: yesterday.toISODate()!, from: yesterday.toJSDate(), to: today.toJSDate(),
    monthFrom: yesterday.startOf('month').toJSDate(), month: yesterday.toFormat('yyyy-MM'),
  };
}

export interface DigestTask { taskId: string; stepKey: string; staffName: string | null; dueEnd: Date; completedAt: Date | null }
export interface DigestCase { caseId: string; reason: string; level: number; ownerName: string | null; dueAt: Date | null; rootCause?: string | null }
export interface DigestKpi { key: KpiKey; label: { zh: string; en: string }; before: number | null; now: number | null }
export interface DigestReclaim { customerId: string; fromName: string | null; toName: string | null; reason: string }

export interface DigestData {
  storeName: string;
  timeZone: string;
  day: string;
  missed: { count: number; rows: DigestTask[] };
  late: { count: number; rows: DigestTask[] };
  overdue: { count: number; rows: DigestTask[] };
  openCases: number;
  overdueCases: { count: number; rows: DigestCase[] };
  casesOpened: number;
  casesResolved: { count: number; rows: DigestCase[] };
  /** Replacement candidates waiting for CR's pre-screening (I-1). */
  replacementPending: number;
  kpis: DigestKpi[];
  reclaims: DigestReclaim[];
}

const local = (at: Date | null, timeZone: string) => (at ? DateTime.fromJSDate(at, { zone: timeZone }).toFormat('MM-dd HH:mm') : '-');
const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}%`);
const who = (name: string | null) => name ?? '(无人 unassigned)';

function section<T>(title: string, list: { count: number; rows: T[] }, line: (row: T) => string): string[] {
  const more = list.count - list.rows.length;
  return [`${title}: ${list.count}`, ...list.rows.map((r) => `  - ${line(r)}`), ...(more > 0 ? [`  ... 另 ${more} 条 (${more} more)`] : []), ''];
}

/** The digest email: plain text, in Chinese with English beside the headings. */
export function digestMail(d: DigestData): { subject: string; body: string } {
  const task = (t: DigestTask) => `${t.stepKey} · ${who(t.staffName)} · 截止 due ${local(t.dueEnd, d.timeZone)}${t.completedAt ? ` · 完成 done ${local(t.completedAt, d.timeZone)}` : ''} · task ${t.taskId}`;
  const kpi = (k: DigestKpi) => {
    const delta = k.before !== null && k.now !== null ? ` (${k.now - k.before >= 0 ? '+' : ''}${(k.now - k.before).toFixed(1)})` : '';
    return `  - ${k.label.zh} ${k.label.en}: ${pct(k.before)} -> ${pct(k.now)}${delta}`;
  };
  const body = [
    `${d.storeName} 每日回访简报 Daily follow-up digest, ${d.day} (${d.timeZone})`,
    '',
    ...section('昨日未完成（错过）的回访 Missed yesterday', d.missed, task),
    ...section('昨日超时完成的回访 Done late yesterday', d.late, task),
    ...section('当前逾期未做的回访 Overdue now', d.overdue, task),
    `昨日新开案件 Cases opened yesterday: ${d.casesOpened}`,
    ...section('昨日解决的案件 Cases resolved yesterday', d.casesResolved, (c) => `${c.reason} · 级别 level ${c.level} · ${who(c.ownerName)} · 原因 root cause ${c.rootCause ?? '-'} · case ${c.caseId}`),
    `未结案件 Open cases: ${d.openCases}`,
    ...section('逾期案件 Overdue cases', d.overdueCases, (c) => `${c.reason} · 级别 level ${c.level} · ${who(c.ownerName)} · 期限 due ${local(c.dueAt, d.timeZone)} · case ${c.caseId}`),
    // Only for stores that screen: a zero every morning would be noise for the others.
    ...(d.replacementPending ? [`置换候选待初筛 Replacement candidates awaiting pre-screening: ${d.replacementPending}`, ''] : []),
    '本月指标变化（昨日前 -> 昨日后） Month-to-date KPIs, before -> after yesterday:',
    ...d.kpis.map(kpi),
    '',
    ...(d.reclaims.length
      ? [`收回并重新分配的客户 Customers reclaimed: ${d.reclaims.length}`, ...d.reclaims.map((r) => `  - customer ${r.customerId}: ${who(r.fromName)} -> ${who(r.toName)} (${r.reason})`), '']
      : []),
  ].join('\n');
  const alerts = d.missed.count + d.overdue.count + d.overdueCases.count;
  return { subject: `[回访简报] ${d.storeName} ${d.day}: ${alerts} 项需关注 need attention`, body };
}

export interface ThresholdBreach { kpi: KpiKey; label: { zh: string; en: string }; value: number; minimum: number; month: string }

/** The KPIs below the store's floor; a KPI with nothing to count (no rate) breaches nothing. */
export function thresholdBreaches(
  values: readonly { key: KpiKey; label: { zh: string; en: string }; rate: number | null }[],
  thresholds: readonly { kpi: string; minimum: number }[],
  month: string,
): ThresholdBreach[] {
  return thresholds.flatMap((t) => {
    const v = values.find((k) => k.key === t.kpi);
    return v && v.rate !== null && v.rate < t.minimum ? [{ kpi: v.key, label: v.label, value: v.rate, minimum: t.minimum, month }] : [];
  });
}

export function thresholdMail(storeName: string, b: ThresholdBreach): { subject: string; body: string } {
  return {
    subject: `[指标预警 KPI alert] ${storeName}: ${b.label.zh} ${pct(b.value)} < ${pct(b.minimum)}`,
    body: [
      `${storeName} ${b.month} 的${b.label.zh}为 ${pct(b.value)}，低于门店设定的 ${pct(b.minimum)}。`,
      `${b.label.en} for ${b.month} is ${pct(b.value)}, below the store's threshold of ${pct(b.minimum)}.`,
      '',
      '本月只提醒一次。This alert is sent once per month.',
    ].join('\n'),
  };
}
