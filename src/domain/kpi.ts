/**
 * The KPIs of DOMAIN.md section 6: which follow-ups and deliveries each rate counts, and the
 * arithmetic on the counts. The SQL in src/kpi/ is built from these definitions, so each one is
 * written once. Pure: no I/O.
 *
 * Seed 000 p.79: a rate is only meaningful when every due follow-up is in the denominator,
 * including those never done (missed, failed, still open past their window). "Due" reads the
 * plan's required window (dueStart/dueEnd), which never moves when a customer asks for another time.
 */
import { DateTime } from 'luxon';
import type { FollowUpStatus } from './outcome';
import { OUTREACH_STEP_PREFIX } from './replacement';

export const KPI_KEYS = [
  'satisfaction',
  'recordingCompletion',
  'timeliness',
  'recordedLate',
  'deliverySatisfaction',
  'appointmentRate',
  'promisesKept',
  'dataAccuracy',
  'csat',
  'nps',
] as const;
export type KpiKey = (typeof KPI_KEYS)[number];

export const KPI_LABELS: Record<KpiKey, { zh: string; en: string }> = {
  satisfaction: { zh: '售后跟踪客户满意率', en: 'Post-sale follow-up satisfaction' },
  recordingCompletion: { zh: '客户跟踪录入完成率', en: 'Follow-up recording completion' },
  timeliness: { zh: '跟踪及时率', en: 'Follow-up timeliness' },
  recordedLate: { zh: '补录跟踪（交车信息晚于回访期限录入，不计入及时率）', en: 'Recorded late (the delivery reached the system after the call was due; kept out of timeliness)' },
  deliverySatisfaction: { zh: '交车服务满意率', en: 'Delivery satisfaction' },
  appointmentRate: { zh: '交车预约率', en: 'Delivery appointment rate' },
  promisesKept: { zh: '承诺条件兑现率', en: 'Promises kept' },
  dataAccuracy: { zh: '基盘信息准确率', en: 'Base data accuracy' },
  csat: { zh: '客户满意度评分 (CSAT)', en: 'Customer satisfaction score (CSAT)' },
  nps: { zh: '净推荐值 (NPS)', en: 'Net Promoter Score (NPS)' },
};

/** Follow-up KPIs measure people's call tasks; system messages are nobody's task. */
export const COUNTED_KIND = 'call';
/** A cancelled follow-up (the ownership ended before it was due) was never owed: it counts nowhere. */
export const UNCOUNTED_STATUSES = ['cancelled'] as const satisfies readonly FollowUpStatus[];
/** The customer was reached and answered. */
export const COMPLETED_STATUSES = ['done_on_time', 'done_late'] as const satisfies readonly FollowUpStatus[];
/** Attempted and closed with an outcome in the system (reached, or every attempt failed). */
export const RECORDED_STATUSES = [...COMPLETED_STATUSES, 'failed'] as const satisfies readonly FollowUpStatus[];
export const ON_TIME_STATUSES = ['done_on_time'] as const satisfies readonly FollowUpStatus[];

/** CSAT 4-5 on the 5-point scale is a satisfied answer. */
export const CSAT_SATISFIED_MIN = 4;
export const NPS_PROMOTER_MIN = 9;
export const NPS_DETRACTOR_MAX = 6;

/**
 * One condition on a follow-up row. A KPI's denominator is a conjunction of them (on top of the
 * counted follow-ups due in the period); its numerator adds more conditions to the denominator's,
 * so a numerator row is always a denominator row.
 */
export type FollowUpCondition =
  | { status: readonly FollowUpStatus[] }
  /** an unanswered question (null) equals neither true nor false */
  | { field: 'satisfied' | 'contactDataCorrect' | 'survey' | 'recordedLate'; equals: boolean }
  | { field: 'contactDataCorrect'; answered: true }
  /** answered, and inside [min, max] when given */
  | { field: 'csat' | 'nps'; min?: number; max?: number }
  /** the required window has closed when the KPI is read: a call still inside it is not late, nor on time, yet */
  | { windowClosed: true }
  /** a kind of call by its plan step's key (the post-service calls of the years) */
  | { stepKeyPrefix: string }
  /** the showroom invitation's result */
  | { field: 'showroomVisit'; is: 'booked' | 'came' };

export interface FollowUpKpiDefinition {
  denominator: readonly FollowUpCondition[];
  numerator: readonly FollowUpCondition[];
  /** Rows that take one off the numerator (NPS detractors). */
  subtract?: readonly FollowUpCondition[];
}

const completed: FollowUpCondition = { status: COMPLETED_STATUSES };
const windowClosed: FollowUpCondition = { windowClosed: true };
/**
 * CSAT and NPS are the survey step's answers, by phone or by SMS/email alike (so whatever the
 * call's own status); a score given on another call (the consultant's day-2 call) is not a survey answer.
 */
const surveyAnswer: FollowUpCondition = { field: 'survey', equals: true };

export const FOLLOW_UP_KPIS = {
  satisfaction: { denominator: [completed], numerator: [{ field: 'satisfied', equals: true }] },
  recordingCompletion: { denominator: [], numerator: [{ status: RECORDED_STATUSES }] },
  /** Calls recorded late (the delivery reached the system after their window closed) are counted apart, in recordedLate. */
  timeliness: { denominator: [windowClosed, { field: 'recordedLate', equals: false }], numerator: [{ status: ON_TIME_STATUSES }] },
  /** How late the DMS feed is: the share of closed-window calls that nobody could have made on time. */
  recordedLate: { denominator: [windowClosed], numerator: [{ field: 'recordedLate', equals: true }] },
  /** I-2: of the calls that checked the customer's contact data, those that found it correct. */
  dataAccuracy: { denominator: [{ field: 'contactDataCorrect', answered: true }], numerator: [{ field: 'contactDataCorrect', equals: true }] },
  csat: { denominator: [surveyAnswer, { field: 'csat' }], numerator: [{ field: 'csat', min: CSAT_SATISFIED_MIN }] },
  nps: {
    denominator: [surveyAnswer, { field: 'nps' }],
    numerator: [{ field: 'nps', min: NPS_PROMOTER_MIN }],
    subtract: [{ field: 'nps', max: NPS_DETRACTOR_MAX }],
  },
} as const satisfies Record<string, FollowUpKpiDefinition>;
export type FollowUpKpiKey = keyof typeof FOLLOW_UP_KPIS;

/**
 * What a delivery shows through its completed follow-ups:
 * - delivered: every delivery, surveyed or not (a survey never done still counts);
 * - byAppointment: the customer booked the delivery (Delivery.byAppointment, from the DMS);
 * - surveySatisfied: its survey call was completed with a satisfied answer, and no completed survey call was dissatisfied;
 * - promisesAnswered: at least one completed follow-up recorded whether the deal's promises were kept;
 * - promisesAllKept: at least one recorded that they were, and none that they were not.
 */
export type DeliveryFact = 'delivered' | 'byAppointment' | 'surveySatisfied' | 'promisesAnswered' | 'promisesAllKept';

export const DELIVERY_KPIS = {
  deliverySatisfaction: { denominator: 'delivered', numerator: 'surveySatisfied' },
  appointmentRate: { denominator: 'delivered', numerator: 'byAppointment' },
  promisesKept: { denominator: 'promisesAnswered', numerator: 'promisesAllKept' },
} as const satisfies Record<string, { denominator: DeliveryFact; numerator: DeliveryFact }>;
export type DeliveryKpiKey = keyof typeof DELIVERY_KPIS;

export function isFollowUpKpi(key: KpiKey): key is FollowUpKpiKey {
  return key in FOLLOW_UP_KPIS;
}

/**
 * The years after delivery (DOMAIN.md section 3). Maintenance reminder conversion and insurance
 * renewal count the YearsCycle rows the vehicle workflows write, by the cycle's due date:
 * - reminded: a reminder of the cycle reached the customer;
 * - booked: a service was booked for it; done: the customer came (maintenance) or renewed (insurance);
 * - due: its due date has passed, or it was done before.
 * Post-service satisfaction counts the satisfaction calls after service visits (step keys
 * `post-service-…`), by their required window, as the follow-up KPIs do; the invitation-to-visit
 * rate the replacement outreach calls (`replacement-…`) the same way.
 */
export type CycleFact = 'reminded' | 'booked' | 'done' | 'due';

export const YEARS_KPI_KEYS = ['maintenanceBooked', 'maintenanceCame', 'insuranceRenewal', 'postServiceSatisfaction', 'invitationToVisit'] as const;
export type YearsKpiKey = (typeof YEARS_KPI_KEYS)[number];

export const YEARS_KPI_LABELS: Record<YearsKpiKey, { zh: string; en: string }> = {
  maintenanceBooked: { zh: '定保招揽预约率（已提醒→已预约）', en: 'Maintenance reminders booked (reminded -> booked)' },
  maintenanceCame: { zh: '定保招揽进店率（已提醒→已进店）', en: 'Maintenance reminders converted (reminded -> came)' },
  insuranceRenewal: { zh: '续保率', en: 'Insurance renewal rate' },
  postServiceSatisfaction: { zh: '售后服务回访满意率', en: 'Post-service satisfaction' },
  invitationToVisit: { zh: '邀约到店率（置换邀约）', en: 'Invitation-to-visit rate (replacement outreach)' },
};

export const CYCLE_KPIS = {
  maintenanceBooked: { kind: 'maintenance', denominator: 'reminded', numerator: 'booked' },
  maintenanceCame: { kind: 'maintenance', denominator: 'reminded', numerator: 'done' },
  insuranceRenewal: { kind: 'insurance', denominator: 'due', numerator: 'done' },
} as const satisfies Record<string, { kind: string; denominator: CycleFact; numerator: CycleFact }>;

/** The satisfaction call after a service visit: its step keys start so (src/domain/years.ts). */
export const POST_SERVICE_STEP_PREFIX = 'post-service-';
export const POST_SERVICE_SATISFACTION: FollowUpKpiDefinition = {
  denominator: [completed, { stepKeyPrefix: POST_SERVICE_STEP_PREFIX }],
  numerator: [{ field: 'satisfied', equals: true }],
};

/** Of the replacement outreach calls completed (the customer reached), those whose customer came to the showroom. */
export const INVITATION_TO_VISIT: FollowUpKpiDefinition = {
  denominator: [completed, { stepKeyPrefix: OUTREACH_STEP_PREFIX }],
  numerator: [{ field: 'showroomVisit', is: 'came' }],
};

/**
 * The per-person ranking (排序法, seed 004 p.101) ranks on these: follow-up rates per assignee,
 * the appointment rate per consultant who sold the car.
 */
export const RANKING_METRICS = ['timeliness', 'satisfaction', 'recordingCompletion', 'dataAccuracy', 'appointmentRate'] as const satisfies readonly KpiKey[];
export type RankingMetric = (typeof RANKING_METRICS)[number];

/** Half away from zero, as people round by hand (and PostgreSQL's round(numeric)). */
function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return (Math.sign(value) * Math.round(Math.abs(value) * factor)) / factor;
}

/** numerator / denominator x 100, one decimal; null when nothing was counted. */
export function rate(numerator: number, denominator: number): number | null {
  // One division of integers keeps exact halves exact (1/16 is 6.25%, which rounds to 6.3).
  return denominator === 0 ? null : roundTo((numerator * 1000) / denominator, 0) / 10;
}

/** % promoters minus % detractors, one decimal; null without responses. */
export function npsScore(promoters: number, detractors: number, responses: number): number | null {
  return rate(promoters - detractors, responses);
}

/** Mean CSAT (1-5), two decimals; null without responses. */
export function csatMean(sum: number, responses: number): number | null {
  return responses === 0 ? null : roundTo((sum * 100) / responses, 0) / 100;
}

/** What the SQL counts per KPI. */
export interface KpiTally {
  denominator: number;
  numerator: number;
  /** rows matching `subtract` (NPS detractors); 0 for the others */
  subtracted: number;
}
export interface KpiTallies {
  byKey: Record<KpiKey, KpiTally>;
  /** sum of the CSAT answers in the CSAT denominator */
  csatSum: number;
}

interface KpiValueBase {
  label: { zh: string; en: string };
  numerator: number;
  denominator: number;
  rate: number | null;
}
export type KpiValue =
  | (KpiValueBase & { key: Exclude<KpiKey, 'csat' | 'nps'> })
  | (KpiValueBase & { key: 'csat'; mean: number | null })
  | (KpiValueBase & { key: 'nps'; score: number | null; responses: number; promoters: number; passives: number; detractors: number });

/** Every KPI, in KPI_KEYS order, from the counts. */
export function kpiValues(tallies: KpiTallies): KpiValue[] {
  return KPI_KEYS.map((key): KpiValue => {
    const t = tallies.byKey[key];
    const numerator = t.numerator - t.subtracted;
    const base = { label: KPI_LABELS[key], numerator, denominator: t.denominator, rate: rate(numerator, t.denominator) };
    if (key === 'csat') return { key, ...base, mean: csatMean(tallies.csatSum, t.denominator) };
    if (key === 'nps') {
      return {
        key, ...base, score: npsScore(t.numerator, t.subtracted, t.denominator), responses: t.denominator,
        promoters: t.numerator, passives: t.denominator - t.numerator - t.subtracted, detractors: t.subtracted,
      };
    }
    return { key, ...base };
  });
}

/**
 * Ranks people best first. Ties (the same exact ratio, not just the same rounded rate) share a
 * rank and the next rank skips (1, 1, 3); `tieOrder` orders people inside a tie. People with
 * nothing in the denominator have no rate and are left out.
 */
export function rankByRate<T extends { numerator: number; denominator: number }>(
  entries: readonly T[],
  tieOrder: (a: T, b: T) => number,
): (T & { rank: number; rate: number })[] {
  // Cross-multiplication compares a/b with c/d exactly.
  const better = (a: T, b: T) => b.numerator * a.denominator - a.numerator * b.denominator;
  const sorted = entries.filter((e) => e.denominator > 0).sort((a, b) => better(a, b) || tieOrder(a, b));
  const ranked: (T & { rank: number; rate: number })[] = [];
  sorted.forEach((e, i) => {
    const previous = ranked[i - 1];
    const rank = previous && better(previous, e) === 0 ? previous.rank : i + 1;
    ranked.push({ ...e, rank, rate: rate(e.numerator, e.denominator)! });
  });
  return ranked;
}

/** Calendar dates without a store are read in the group's home zone. */
export const DEFAULT_KPI_TIME_ZONE = 'Asia/Shanghai';
export const MAX_PERIOD_DAYS = 366;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export type PeriodResult =
  | { ok: true; from: Date; to: Date }
  | { ok: false; field: 'from' | 'to'; message: string };

/**
 * The half-open period [from, to) of a KPI request. A YYYY-MM-DD bound is local midnight in
 * `timeZone`, an ISO instant is itself; without either bound, the current calendar month.
 */
export function resolvePeriod(input: { from?: string; to?: string; timeZone: string; now: Date }): PeriodResult {
  const { timeZone } = input;
  if (input.from === undefined && input.to === undefined) {
    const month = DateTime.fromJSDate(input.now, { zone: timeZone }).startOf('month');
    return { ok: true, from: month.toJSDate(), to: month.plus({ months: 1 }).toJSDate() };
  }
  if (input.from === undefined || input.to === undefined) {
    return { ok: false, field: input.from === undefined ? 'from' : 'to', message: 'give both from and to, or neither for the current month' };
  }
  const bound = (raw: string) => (DATE_ONLY.test(raw) ? DateTime.fromISO(raw, { zone: timeZone }) : DateTime.fromISO(raw, { setZone: true }));
  const from = bound(input.from);
  const to = bound(input.to);
  if (!from.isValid) return { ok: false, field: 'from', message: 'expected a date YYYY-MM-DD or an ISO instant with offset' };
  if (!to.isValid) return { ok: false, field: 'to', message: 'expected a date YYYY-MM-DD or an ISO instant with offset' };
  if (from >= to) return { ok: false, field: 'from', message: 'must be before to (to is exclusive)' };
  if (to.setZone(timeZone).diff(from.setZone(timeZone), 'days').days > MAX_PERIOD_DAYS) {
    return { ok: false, field: 'to', message: `a period spans at most ${MAX_PERIOD_DAYS} days` };
  }
  return { ok: true, from: from.toJSDate(), to: to.toJSDate() };
}
