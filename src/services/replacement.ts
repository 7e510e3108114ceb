/**
 * Replacement-cycle outreach (I-1), shared by the screening activity and the API: the store's
 * criteria as stored, and CR's pre-screening decision, which for a passed candidate asks the
 * vehicle's workflow to open the consultant's call (it is the one writer of its follow-ups).
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client';
import { DEFAULT_REPLACEMENT_CRITERIA, type ReplacementCriteria, type ReplacementDecision, statusAfter } from '../domain/replacement';
import { ReplacementCriteriaSchema } from '../domain/replacement-criteria';
import { openOutreachCallUpdate } from '../workflows/contract';
import { type AuditActor, recordAudit } from './audit';

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
  | { kind: 'decided'; followUpId: string | null }
  /** Someone else decided first, or this decider decided otherwise. */
  | { kind: 'conflict'; status: string };

/**
 * One decision per candidate: the first to change it from pending wins; a retry of the same
 * decision by the same person answers as the first did, and anything else is a conflict. A passed
 * candidate's call is opened through the vehicle workflow's update (the candidate's ID makes it
 * one update); when Temporal is down the decision stands and a retry opens the call.
 */
export async function decideCandidate(db: Db, temporal: Pick<Client, 'workflow'>, d: CandidateDecision): Promise<DecisionResult> {
  const status = statusAfter(d.decision);
  await db.$transaction(async (tx) => {
    const { count } = await tx.replacementCandidate.updateMany({
      where: { id: d.candidateId, status: 'pending' },
      data: { status, decidedById: d.deciderId, decidedAt: new Date(), note: d.note ?? null },
    });
    if (!count) return;
    const { storeId } = await tx.replacementCandidate.findUniqueOrThrow({ where: { id: d.candidateId }, select: { storeId: true } });
    await recordAudit(tx, {
      actor: d.auditActor, action: 'replacement-candidate.decide', entity: 'replacement-candidate', entityId: d.candidateId, storeId,
      before: { status: 'pending' }, after: { status, note: d.note ?? null },
    });
  });
  const c = await db.replacementCandidate.findUniqueOrThrow({ where: { id: d.candidateId }, include: { delivery: { include: { store: true } } } });
  if (c.status !== status || c.decidedById !== d.deciderId) return { kind: 'conflict', status: c.status };
  if (status !== 'passed' || c.followUpId) return { kind: 'decided', followUpId: c.followUpId };
  const { criteria } = criteriaOf(c.delivery.store.replacementCriteria);
  const { followUpId } = await temporal.workflow.getHandle(c.delivery.workflowId).executeUpdate(openOutreachCallUpdate, {
    args: [{ candidateId: c.id, cycle: c.cycle, callWindowDays: criteria.callWindowDays }],
    updateId: `outreach-${c.id}`,
  });
  await db.replacementCandidate.updateMany({ where: { id: c.id, followUpId: null }, data: { followUpId } });
  return { kind: 'decided', followUpId };
}
