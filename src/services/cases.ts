/**
 * Opening a case: the one way, used by every opener (the vehicle workflow's escalation, the send
 * activity and the webhooks for data fixes, the API by hand). It writes the case row, assigned to
 * the CR specialist by the fair rule, and starts the case's workflow (`case-<id>`), which from then
 * on is the row's one writer. Both halves are idempotent: an opener that retries after a crash
 * between them finds the row and starts the workflow it missed.
 *
 * Callers that open a case inside their own transaction (a message failing for good also changes
 * consent) call writeCaseRow with their transaction and startCaseWorkflow after it commits.
 */
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Db } from '../db/client';
import type { Prisma } from '../generated/prisma/client';
import { caseWorkflowId, type CaseInput } from '../workflows/contract';
import { recordAudit } from './audit';
import { crSpecialistFor, withAssignment } from './assignment';

type Tx = Prisma.TransactionClient;

/** What starting a case's workflow needs; the worker's activity deps and the API both have it. */
export interface CaseWorkflows {
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
}

export type CaseOpening =
  | { reason: 'dissatisfied' | 'complaint'; deliveryId: string; followUpId: string; inboundMessageId?: string; detail?: string }
  | { reason: 'customer-reply'; deliveryId: string; inboundMessageId: string; detail?: string }
  | { reason: 'data-fix'; messageId: string; detail: string }
  /** Data CR found wrong on a call list (a replacement candidate's): the caller's own row makes it once-only. */
  | { reason: 'data-fix'; deliveryId: string; detail: string }
  | { reason: 'manual'; deliveryId: string; detail: string; openedBy: string };

export interface OpenedCase {
  caseId: string;
  storeId: string;
  assigneeId: string | null;
}

const NO_CASE: unique symbol = Symbol('no case');

/**
 * Writes the case row (or finds the one already there) inside `tx`, which must be able to take the
 * assignment lock (see withAssignment). A data fix joins the open data-fix case of its delivery and
 * channel instead of piling up; a message without a delivery opens none (null).
 */
export async function writeCaseRow(tx: Tx, opening: CaseOpening): Promise<OpenedCase | null> {
  const found = await existingCase(tx, opening);
  if (found === NO_CASE) return null;
  if (found) return found;
  const { storeId, deliveryId } = await subjectOf(tx, opening);
  const assigneeId = await crSpecialistFor(tx, storeId);
  const c = await tx.escalationCase.create({
    data: {
      storeId, deliveryId, reason: opening.reason, detail: opening.detail ?? null, assigneeId,
      followUpId: 'followUpId' in opening ? opening.followUpId : null,
      inboundMessageId: 'inboundMessageId' in opening ? (opening.inboundMessageId ?? null) : null,
      messageId: 'messageId' in opening ? opening.messageId : null,
      openedBy: opening.reason === 'manual' ? opening.openedBy : 'system',
    },
  });
  await recordAudit(tx, {
    actor: 'system', action: 'case.open', entity: 'case', entityId: c.id, storeId,
    after: { reason: c.reason, assigneeId, level: c.level, status: c.status, openedBy: c.openedBy },
  });
  return { caseId: c.id, storeId, assigneeId };
}

async function existingCase(tx: Tx, opening: CaseOpening): Promise<OpenedCase | null | typeof NO_CASE> {
  const select = { id: true, storeId: true, assigneeId: true } as const;
  let row: { id: string; storeId: string; assigneeId: string | null } | null = null;
  switch (opening.reason) {
    case 'dissatisfied':
    case 'complaint':
      row = await tx.escalationCase.findUnique({ where: { followUpId_reason: { followUpId: opening.followUpId, reason: opening.reason } }, select });
      break;
    case 'customer-reply':
      row = await tx.escalationCase.findUnique({ where: { inboundMessageId_reason: { inboundMessageId: opening.inboundMessageId, reason: opening.reason } }, select });
      break;
    case 'data-fix': {
      if (!('messageId' in opening)) return null;
      const message = await tx.message.findUniqueOrThrow({ where: { id: opening.messageId }, select: { deliveryId: true, channel: true } });
      if (!message.deliveryId) return NO_CASE;
      row = await tx.escalationCase.findUnique({ where: { messageId_reason: { messageId: opening.messageId, reason: opening.reason } }, select })
        ?? await tx.escalationCase.findFirst({
          where: { deliveryId: message.deliveryId, reason: opening.reason, status: 'open', message: { channel: message.channel } }, select,
        });
      break;
    }
    case 'manual':
      return null;
  }
  return row && { caseId: row.id, storeId: row.storeId, assigneeId: row.assigneeId };
}

async function subjectOf(tx: Tx, opening: CaseOpening): Promise<{ storeId: string; deliveryId: string }> {
  if ('messageId' in opening) {
    const m = await tx.message.findUniqueOrThrow({ where: { id: opening.messageId }, select: { storeId: true, deliveryId: true } });
    return { storeId: m.storeId, deliveryId: m.deliveryId! };
  }
  const d = await tx.delivery.findUniqueOrThrow({ where: { id: opening.deliveryId }, select: { storeId: true, id: true } });
  return { storeId: d.storeId, deliveryId: d.id };
}

/**
 * Starts the case's workflow, or finds it running. A case whose workflow has already finished
 * (closed for good) is not started again.
 */
export async function startCaseWorkflow(w: CaseWorkflows, opened: OpenedCase): Promise<void> {
  const input: CaseInput = { caseId: opened.caseId, storeId: opened.storeId };
  try {
    await w.temporal.workflow.start('escalationCase', {
      taskQueue: w.taskQueue,
      workflowId: caseWorkflowId(opened.caseId),
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Opens a case (row and workflow) in one call, for openers without a transaction of their own. */
export async function openCase(deps: CaseWorkflows & { db: Db }, opening: CaseOpening): Promise<OpenedCase | null> {
  const opened = await withAssignment(deps.db, (tx) => writeCaseRow(tx, opening));
  if (opened) await startCaseWorkflow(deps, opened);
  return opened;
}

/**
 * Repair: starts the workflows of open cases whose workflow never began (no deadlines yet), for
 * when an opener committed the row and then could not reach Temporal and nobody retried (a webhook
 * the provider gave up on, a send that had already recorded its failure). Oldest first; stops at
 * the first start that fails, for the next round to try again.
 */
export async function startMissingCaseWorkflows(deps: CaseWorkflows & { db: Db }, opts: { graceMs: number; batch?: number }): Promise<number> {
  const pending = await deps.db.escalationCase.findMany({
    where: { respondBy: null, status: 'open', createdAt: { lt: new Date(Date.now() - opts.graceMs) } },
    select: { id: true, storeId: true, assigneeId: true },
    orderBy: { createdAt: 'asc' },
    take: opts.batch ?? 50,
  });
  for (const c of pending) await startCaseWorkflow(deps, { caseId: c.id, storeId: c.storeId, assigneeId: c.assigneeId });
  return pending.length;
}
