/**
 * Replacement-cycle outreach (I-1), shared by the screening activity and the API: the store's
 * criteria as stored, and CR's pre-screening decision, which for a passed candidate asks the
 * vehicle's workflow to open the consultant's call (it is the one writer of its follow-ups) and for
 * wrong data opens a data-fix case.
 */
import { ActivityFailure, ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Db } from '../db/client';
import { COMPLETED_STATUSES } from '../domain/kpi';
import { DEFAULT_REPLACEMENT_CRITERIA, INVITATION_VISIT_DAYS, OUTREACH_STEP_PREFIX, type ReplacementCriteria, type ReplacementDecision, statusAfter } from '../domain/replacement';
import { ReplacementCriteriaSchema } from '../domain/replacement-criteria';
import { openOutreachCallUpdate } from '../workflows/contract';
import { withAssignment } from './assignment';
import { type AuditActor, recordAudit } from './audit';
import { type CaseWorkflows, startCaseWorkflow, writeCaseRow } from './cases';

/** The store's criteria; the built-in ones (screening off) until the store saves its own. */
export function criteriaOf(stored: unknown): { criteria: ReplacementCriteria; builtIn: boolean } {
  const own = stored === null || stored === undefined ? null : ReplacementCriteriaSchema.safeParse(stored);
  return own?.success ? { criteria: own.data, builtIn: false } : { criteria: DEFAULT_REPLACEMENT_CRITERIA, builtIn: true };
}

export interface CandidateDecision {
  candidateId: string;
  decision: ReplacementDecision;
  note?: string;
  /** The Staff row (or API key) deciding: a retry by the same one answers as the first time. */
  deciderId: string;
  auditActor: AuditActor;
}

export type DecisionResult =
  | { kind: 'decided'; followUpId: string | null; caseId: string | null }
  /** Someone else decided first, or this decider decided otherwise. */
  | { kind: 'conflict'; status: string }
  /** A pass for which no call can ever be opened (why): nothing recorded, the candidate stays pending. */
  | { kind: 'refused'; reason: string }
  /** A pass whose call could not be opened just now (the database under the workflow is down): it stands, the same request again opens it. */
  | { kind: 'unavailable' };

/**
 * One decision per candidate: the first to change it from pending wins; a retry of the same
 * decision by the same person answers as the first did, and anything else is a conflict.
 *
 * A pass opens the consultant's call through the vehicle workflow's update (the candidate's ID
 * makes it one update). "Passed" always means a call is open or a retry opens it: when the
 * workflow refuses for good (the ownership ended, its follow-up predates the years' planning),
 * the pass is taken back and audited, and the candidate is pending again for CR to decide
 * otherwise; when the call could not be opened just now the pass stands.
 *
 * "Wrong data" opens a data-fix case for the store's CR in the decision's own transaction (so
 * once per candidate however often the request is retried); a retry starts its workflow if the
 * first request could not.
 */
export async function decideCandidate(deps: CaseWorkflows & { db: Db }, d: CandidateDecision): Promise<DecisionResult> {
  const { db, temporal } = deps;
  const status = statusAfter(d.decision);
  await withAssignment(db, async (tx) => {
    const { count } = await tx.replacementCandidate.updateMany({
      where: { id: d.candidateId, status: 'pending' },
      data: { status, decidedById: d.deciderId, decidedAt: new Date(), note: d.note ?? null },
    });
    if (!count) return;
    const { storeId, deliveryId, cycle } = await tx.replacementCandidate.findUniqueOrThrow({ where: { id: d.candidateId } });
    await recordAudit(tx, {
      actor: d.auditActor, action: 'replacement-candidate.decide', entity: 'replacement-candidate', entityId: d.candidateId, storeId,
      before: { status: 'pending' }, after: { status, note: d.note ?? null },
    });
    if (status !== 'wrong_data') return;
    const detail = `replacement candidate (${cycle}): CR found the data wrong${d.note ? `: ${d.note}` : ''}`;
    const opened = await writeCaseRow(tx, { reason: 'data-fix', deliveryId, detail });
    await tx.replacementCandidate.update({ where: { id: d.candidateId }, data: { caseId: opened!.caseId } });
  });
  const c = await db.replacementCandidate.findUniqueOrThrow({ where: { id: d.candidateId }, include: { delivery: { include: { store: true } } } });
  if (c.status !== status || c.decidedById !== d.deciderId) return { kind: 'conflict', status: c.status };
  if (c.caseId) await startCaseWorkflow(deps, { caseId: c.caseId, storeId: c.storeId, assigneeId: null });
  if (status !== 'passed' || c.followUpId) return { kind: 'decided', followUpId: c.followUpId, caseId: c.caseId };
  const { criteria } = criteriaOf(c.delivery.store.replacementCriteria);
  try {
    const { followUpId } = await temporal.workflow.getHandle(c.delivery.workflowId).executeUpdate(openOutreachCallUpdate, {
      args: [{ candidateId: c.id, cycle: c.cycle, callWindowDays: criteria.callWindowDays }],
      updateId: `outreach-${c.id}`,
    });
    await db.replacementCandidate.updateMany({ where: { id: c.id, followUpId: null }, data: { followUpId } });
    return { kind: 'decided', followUpId, caseId: null };
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ActivityFailure) return { kind: 'unavailable' };
    const reason = err instanceof WorkflowNotFoundError ? 'the vehicle\'s follow-up has ended'
      : cause instanceof ApplicationFailure && NO_CALL_EVER.has(cause.type ?? '') ? cause.message : null;
    if (!reason) throw err;
    await takeBackPass(db, d, c.storeId, reason);
    return { kind: 'refused', reason };
  }
}

/** The vehicle workflow's refusals that no retry changes. */
const NO_CALL_EVER = new Set(['OwnershipEnded', 'YearsNotPlanned']);

/** The pass back to pending, audited with why (only this decider's, and only while no call was opened). */
async function takeBackPass(db: Db, d: CandidateDecision, storeId: string, reason: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const { count } = await tx.replacementCandidate.updateMany({
      where: { id: d.candidateId, status: 'passed', decidedById: d.deciderId, followUpId: null },
      data: { status: 'pending', decidedById: null, decidedAt: null, note: null },
    });
    if (!count) return;
    await recordAudit(tx, {
      actor: d.auditActor, action: 'replacement-candidate.take-back', entity: 'replacement-candidate', entityId: d.candidateId, storeId,
      before: { status: 'passed' }, after: { status: 'pending' }, reason: `no call can be opened: ${reason}`,
    });
  });
}

/**
 * A showroom visit the DMS reports: the vehicle's latest outreach call that booked a visit, closed
 * in the INVITATION_VISIT_DAYS before it, becomes "came" (the invitation-to-visit KPI's numerator).
 * The call is closed, so its workflow holds nothing of it any more; the one change is booked to
 * came, made conditionally and audited, so a repeated or concurrent report changes nothing more and
 * answers the same call. Null: no invitation booked this visit.
 */
export async function recordShowroomVisit(db: Db, visit: { deliveryId: string; visitedAt: Date; auditActor: AuditActor }): Promise<{ outreachCallId: string | null }> {
  return db.$transaction(async (tx) => {
    const call = await tx.followUp.findFirst({
      where: {
        deliveryId: visit.deliveryId, stepKey: { startsWith: OUTREACH_STEP_PREFIX }, status: { in: [...COMPLETED_STATUSES] }, showroomVisit: { in: ['booked', 'came'] },
        completedAt: { lte: visit.visitedAt, gte: new Date(visit.visitedAt.getTime() - INVITATION_VISIT_DAYS * 86_400_000) },
      },
      orderBy: [{ completedAt: 'desc' }, { id: 'desc' }],
    });
    if (!call) return { outreachCallId: null };
    const { count } = await tx.followUp.updateMany({ where: { id: call.id, showroomVisit: 'booked' }, data: { showroomVisit: 'came' } });
    if (count) {
      await recordAudit(tx, {
        actor: visit.auditActor, action: 'task.showroom-visit', entity: 'task', entityId: call.id, storeId: call.storeId,
        before: { showroomVisit: 'booked' }, after: { showroomVisit: 'came', visitedAt: visit.visitedAt.toISOString() },
      });
    }
    return { outreachCallId: call.id };
  });
}
