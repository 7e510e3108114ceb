/**
 * Escalation cases (DOMAIN.md section 5): the ladder, the deadlines that drive it, and which action
 * a case in a given state accepts. Pure and zod-free: the case workflow composes these, and the
 * API checks the same rules before it asks the workflow.
 */

/** 1 CR specialist, 2 sales manager, 3 general manager: a passed deadline climbs one rung. */
export type CaseLevel = 1 | 2 | 3;
export const LADDER_ROLE: Record<CaseLevel, 'cr_specialist' | 'manager' | 'general_manager'> = {
  1: 'cr_specialist',
  2: 'manager',
  3: 'general_manager',
};
export const TOP_LEVEL: CaseLevel = 3;

export type CaseStatus = 'open' | 'resolved' | 'closed';
export type CaseReason = 'dissatisfied' | 'complaint' | 'customer-reply' | 'data-fix' | 'manual';

/** The root-cause categories a resolution is filed under. */
export const ROOT_CAUSES = [
  'product-quality', 'sales-process', 'delivery-process', 'staff-attitude', 'price-or-contract',
  'after-sales-service', 'contact-data', 'customer-expectation', 'other',
] as const;
export type RootCause = (typeof ROOT_CAUSES)[number];

/** How the customer confirmed that the problem is solved: a case is resolved only with it. */
export const CONFIRMATION_CHANNELS = ['phone', 'sms', 'email', 'in_person'] as const;
export type ConfirmationChannel = (typeof CONFIRMATION_CHANNELS)[number];

/** A resolved case can be reopened for this long; then it is closed for good (a new complaint is a new case). */
export const REOPEN_PERIOD_MS = 30 * 24 * 3600_000;

/** Deadlines of a store's policy when it has none: 4 working hours to respond, 24 to resolve. */
export const DEFAULT_CASE_POLICY = { firstResponseMinutes: 4 * 60, resolutionMinutes: 24 * 60, smsFromLevel: 3 as number | null };

/** Who acted: a staff member, an API key, or the system (a deadline). Same shape as the audit log's actor. */
export type CaseActor = { kind: 'staff' | 'api-key'; id: string } | 'system';

export const actorLabel = (a: CaseActor): string => (a === 'system' ? 'system' : `${a.kind}:${a.id}`);

/** What the case workflow holds (and its `state` query answers). */
export interface CaseState {
  caseId: string;
  storeId: string;
  status: CaseStatus;
  level: CaseLevel;
  assigneeId: string | null;
  acknowledgedAt: string | null;
  respondBy: string;
  resolveBy: string;
  /** Deadlines of the current round (since opening or the last reopening) already acted on. */
  passed: { respond: boolean; resolve: boolean };
  resolvedAt: string | null;
  /** Timeline entries written so far: the next entry's key is `<caseId>:<events>`. */
  events: number;
}

export type CaseAction = 'acknowledge' | 'note' | 'reassign' | 'resolve' | 'reopen';

/** Why a case refuses an action, as an error type the API maps to a 409; null when it accepts it. */
export function caseActionProblem(s: Pick<CaseState, 'status' | 'acknowledgedAt' | 'assigneeId'>, action: CaseAction, assigneeId?: string): { type: string; message: string } | null {
  if (s.status === 'closed') return { type: 'CaseClosed', message: 'the case is closed: open a new case' };
  if (action === 'reopen') return s.status === 'resolved' ? null : { type: 'CaseNotResolved', message: 'only a resolved case can be reopened' };
  if (action === 'note') return null;
  if (s.status === 'resolved') return { type: 'CaseResolved', message: 'the case is resolved: reopen it first' };
  if (action === 'acknowledge' && s.acknowledgedAt) return { type: 'CaseAcknowledged', message: `the case was acknowledged at ${s.acknowledgedAt}` };
  if (action === 'reassign' && assigneeId === s.assigneeId) return { type: 'CaseAlreadyAssigned', message: 'the case is already with this staff member' };
  return null;
}

/** The deadline the case is now running against, not yet acted on; null when none is. */
export function runningDeadline(s: CaseState): { kind: 'respond' | 'resolve'; at: string } | null {
  if (s.status !== 'open') return null;
  if (!s.acknowledgedAt && !s.passed.respond) return { kind: 'respond', at: s.respondBy };
  if (!s.passed.resolve) return { kind: 'resolve', at: s.resolveBy };
  return null;
}

export const nextLevel = (level: CaseLevel): CaseLevel => (level < TOP_LEVEL ? ((level + 1) as CaseLevel) : TOP_LEVEL);
