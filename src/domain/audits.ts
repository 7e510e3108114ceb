/**
 * The manager audit (DOMAIN.md sections 1 and 6): how many follow-ups and cases were late or
 * overdue, per staff member, team and store, with the rows behind each number. The figures are
 * data, written with the KPI conditions of kpi.ts and compiled by the same SQL (src/kpi/sql.ts), so
 * "on time", "late" and "due" mean here exactly what they mean in the KPIs. Pure: no I/O.
 */
import { type FollowUpCondition, ON_TIME_STATUSES } from './kpi';

/** Every figure counts the KPIs' follow-ups (call tasks, not cancelled) whose required window ends in the period. */
export const FOLLOW_UP_AUDIT_FIGURES = {
  /** calls owed in the period */
  due: [],
  onTime: [{ status: ON_TIME_STATUSES }],
  /** completed after the required window */
  late: [{ status: ['done_late'] }],
  /** nobody completed them within two days after the window (DOMAIN.md section 2) */
  missed: [{ status: ['missed'] }],
  /** still open with the window closed: about to be missed */
  overdue: [{ status: ['open'] }, { windowClosed: true }],
  /** the delivery reached the system after the window closed: nobody could have been on time */
  recordedLate: [{ field: 'recordedLate', equals: true }],
} as const satisfies Record<string, readonly FollowUpCondition[]>;
export type FollowUpAuditFigure = keyof typeof FOLLOW_UP_AUDIT_FIGURES;
export const FOLLOW_UP_AUDIT_FIGURE_KEYS = Object.keys(FOLLOW_UP_AUDIT_FIGURES) as FollowUpAuditFigure[];

/**
 * Case figures over the cases opened in the period. A case's deadlines (respondBy, resolveBy)
 * are set by its workflow in the store's working hours; `dueAt` is the one running now.
 */
export type CaseCondition =
  | { status: readonly ('open' | 'resolved' | 'closed')[] }
  /** the running deadline has passed, as of when the audit is read */
  | { overdue: true }
  /** the first response came after respondBy, or has not come and respondBy has passed */
  | { respondedLate: true }
  /** resolved after resolveBy */
  | { resolvedLate: true };

export const CASE_AUDIT_FIGURES = {
  opened: [],
  open: [{ status: ['open'] }],
  overdue: [{ status: ['open'] }, { overdue: true }],
  respondedLate: [{ respondedLate: true }],
  resolved: [{ status: ['resolved', 'closed'] }],
  resolvedLate: [{ status: ['resolved', 'closed'] }, { resolvedLate: true }],
} as const satisfies Record<string, readonly CaseCondition[]>;
export type CaseAuditFigure = keyof typeof CASE_AUDIT_FIGURES;
export const CASE_AUDIT_FIGURE_KEYS = Object.keys(CASE_AUDIT_FIGURES) as CaseAuditFigure[];

/**
 * Who a number belongs to: the staff member who holds the follow-up or case, their team (a
 * consultant's supervisor; a supervisor leads their own), or the store.
 */
export const AUDIT_GROUPINGS = ['staff', 'team', 'store'] as const;
export type AuditGrouping = (typeof AUDIT_GROUPINGS)[number];
