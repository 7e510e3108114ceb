import { ApplicationFailure } from '@temporalio/common';
import { ContactWindowSchema } from '../domain/contact-window';
import { ErrorType } from '../domain/errors';
import { CallOutcome, callOutcomeEffect, outcomeHasProblem } from '../domain/outcome';
import { normalizePhone } from '../domain/phone';
import { rescheduleCall } from '../domain/plan';
import { callAssignee, type CallRole, withAssignment } from '../services/assignment';
import { type AuditActor, recordAudit } from '../services/audit';
import { openCase } from '../services/cases';
import type { ActivityDeps } from './deps';

export interface OpenFollowUpInput {
  deliveryId: string;
  stepKey: string;
  role: CallRole;
  checklist: string[];
  survey: boolean;
  mandatory: boolean;
  maxAttempts: number;
  dueStart: string;
  dueEnd: string;
}

export interface RecordOutcomeInput {
  followUpId: string;
  outcome: CallOutcome;
  completedAt: string;
  retryAfterMinutes: number;
  /**
   * Which call this outcome is for (1 = the first), as the workflow counts them: a retry of an
   * attempt that was already recorded answers as before instead of counting another attempt.
   */
  attemptNumber: number;
  /** The staff member who recorded it, when the request named one. */
  completedById?: string | null;
}

export interface RecordOutcomeResult {
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  problem: boolean;
}

export type OpenEscalationCaseInput = { deliveryId: string; detail?: string } & (
  | { followUpId: string; reason: 'dissatisfied' | 'complaint'; inboundMessageId?: string }
  | { inboundMessageId: string; reason: 'customer-reply' }
);

/** The answers a task holds, as the outcome rules read them. */
/** Who changed a follow-up: the staff member the request named, else the system (the workflow on its own, a customer's written answer). */
const actorOf = (staffId: string | null | undefined): AuditActor => (staffId ? { kind: 'staff', id: staffId } : 'system');

/** A follow-up's state as the audit log records it. */
const taskAudit = (fu: { status: string; attempts: number; nextAttemptAt: Date | null; requestedAt: Date | null; reached: boolean | null; satisfied: boolean | null; csat: number | null; nps: number | null;
  promisesKept: boolean | null; complaint: string | null; contactDataCorrect: boolean | null; note: string | null; completedAt: Date | null; completedById: string | null }) => ({
  status: fu.status, attempts: fu.attempts, nextAttemptAt: fu.nextAttemptAt, requestedAt: fu.requestedAt, reached: fu.reached, satisfied: fu.satisfied, csat: fu.csat,
  nps: fu.nps, promisesKept: fu.promisesKept, complaint: fu.complaint, contactDataCorrect: fu.contactDataCorrect, note: fu.note, completedAt: fu.completedAt, completedById: fu.completedById,
});

function storedOutcome(fu: { reached: boolean | null; satisfied: boolean | null; csat: number | null; complaint: string | null }): CallOutcome {
  return { reached: fu.reached ?? false, satisfied: fu.satisfied ?? undefined, csat: fu.csat ?? undefined, complaint: fu.complaint ?? undefined };
}

export function createFollowUpActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'temporal' | 'taskQueue'>) {
  const { db } = deps;

  async function window(followUpId: string) {
    const fu = await db.followUp.findUnique({
      where: { id: followUpId },
      include: { delivery: { include: { customer: true, store: true } } },
    });
    if (!fu) throw ApplicationFailure.nonRetryable(`follow-up ${followUpId} not found`, ErrorType.RecordNotFound);
    const { customer, store } = fu.delivery;
    return { fu, timeZone: store.timeZone, customerWindow: ContactWindowSchema.parse({ start: customer.contactWindowStart, end: customer.contactWindowEnd }) };
  }

  return {
    /** Writes the follow-up the moment it becomes due, so every KPI denominator counts it. Idempotent. */
    async openFollowUp(input: OpenFollowUpInput): Promise<{ followUpId: string; assigneeId: string | null }> {
      const delivery = await db.delivery.findUnique({ where: { id: input.deliveryId } });
      if (!delivery) throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} not found`, ErrorType.RecordNotFound);
      const existing = await db.followUp.findUnique({ where: { deliveryId_stepKey: { deliveryId: input.deliveryId, stepKey: input.stepKey } } });
      if (existing) return { followUpId: existing.id, assigneeId: existing.assigneeId };
      // Picked and written in one transaction: simultaneous tasks of a role spread over its holders.
      // A simultaneous retry that wrote it first fails this one on the unique key; its next try finds it above.
      const created = await withAssignment(db, async (tx) => {
        const task = await tx.followUp.create({
          data: {
            storeId: delivery.storeId, deliveryId: delivery.id, stepKey: input.stepKey, kind: 'call', role: input.role,
            channel: 'phone', assigneeId: await callAssignee(tx, delivery, input.role), dueStart: new Date(input.dueStart), dueEnd: new Date(input.dueEnd),
            recordedLate: delivery.createdAt > new Date(input.dueEnd),
            checklist: input.checklist, survey: input.survey, mandatory: input.mandatory, maxAttempts: input.maxAttempts,
          },
        });
        await recordAudit(tx, {
          actor: 'system', action: 'task.open', entity: 'task', entityId: task.id, storeId: task.storeId,
          after: { stepKey: task.stepKey, role: task.role, assigneeId: task.assigneeId, dueStart: task.dueStart, dueEnd: task.dueEnd, recordedLate: task.recordedLate },
        });
        return task;
      });
      const { assigneeId } = created;
      if (!assigneeId) deps.logger.warn({ followUpId: created.id, storeId: delivery.storeId, role: input.role }, 'no active staff holds this role: task is unassigned');
      return { followUpId: created.id, assigneeId };
    },

    async recordOutcome(input: RecordOutcomeInput): Promise<RecordOutcomeResult> {
      const { fu, timeZone, customerWindow } = await window(input.followUpId);
      const completedAt = new Date(input.completedAt);
      // A retried activity whose first try already committed must answer the same thing again.
      if (fu.attempts >= input.attemptNumber) {
        return { status: fu.status, attempts: fu.attempts, nextAttemptAt: fu.nextAttemptAt?.toISOString() ?? null, problem: outcomeHasProblem(storedOutcome(fu)) };
      }
      if (fu.status !== 'open') throw ApplicationFailure.nonRetryable(`follow-up ${fu.id} is ${fu.status}`, ErrorType.TaskAlreadyClosed);
      const o = input.outcome;
      const effect = callOutcomeEffect({
        task: fu, outcome: o, completedAt, retryAfterMinutes: input.retryAfterMinutes,
        nextAllowed: (at) => rescheduleCall({ requestedAt: at, customerWindow, timeZone }),
      });
      const closed = effect.status !== 'open';
      await db.$transaction(async (tx) => {
        // Written only if nobody recorded or closed the task since it was read (closeFollowUp may
        // race this); otherwise the activity's retry reads it again and answers from what it finds.
        const data = {
          attempts: effect.attempts, status: effect.status, nextAttemptAt: effect.nextAttemptAt, reached: o.reached, note: o.note,
          completedAt: closed ? completedAt : null, completedById: input.completedById ?? fu.completedById,
          ...(o.reached && {
            satisfied: o.satisfied, csat: o.csat, nps: o.nps, promisesKept: o.promisesKept, complaint: o.complaint,
            contactDataCorrect: o.contactDataCorrect, showroomVisit: o.showroomVisit, answerChannel: 'phone',
          }),
        };
        const { count } = await tx.followUp.updateMany({ where: { id: fu.id, status: 'open', attempts: fu.attempts }, data });
        if (count === 0) throw new Error(`follow-up ${fu.id} changed while its outcome was being recorded`);
        const actor = actorOf(input.completedById);
        await recordAudit(tx, { actor, action: 'task.outcome', entity: 'task', entityId: fu.id, storeId: fu.storeId, before: taskAudit(fu), after: data });
        const phone = o.correctedContact?.phone ? normalizePhone(o.correctedContact.phone) : null;
        if (phone || o.correctedContact?.email) {
          const { customer } = fu.delivery;
          const corrected = await tx.customer.update({
            where: { id: customer.id },
            data: { ...(phone && { phone }), ...(o.correctedContact?.email && { email: o.correctedContact.email }) },
          });
          await recordAudit(tx, {
            actor, action: 'customer.contact-corrected', entity: 'customer', entityId: customer.id, storeId: customer.storeId,
            before: { phone: customer.phone, email: customer.email }, after: { phone: corrected.phone, email: corrected.email },
          });
        }
      });
      return { status: effect.status, attempts: effect.attempts, nextAttemptAt: effect.nextAttemptAt?.toISOString() ?? null, problem: effect.problem };
    },

    /**
     * A survey score the customer sent in writing (SMS or email), recorded on the survey's task
     * beside whatever the call records. Idempotent: the same score again changes nothing.
     */
    async recordSurveyScore(input: { followUpId: string; csat: number; channel: 'sms' | 'email' }): Promise<{ problem: boolean }> {
      const fu = await db.followUp.findUnique({ where: { id: input.followUpId } });
      if (!fu) throw ApplicationFailure.nonRetryable(`follow-up ${input.followUpId} not found`, ErrorType.RecordNotFound);
      if (!fu.survey) throw ApplicationFailure.nonRetryable(`follow-up ${fu.id} is not a survey`, ErrorType.RecordNotFound);
      const data = { csat: input.csat, answerChannel: fu.answerChannel ?? input.channel };
      await db.$transaction(async (tx) => {
        const { count } = await tx.followUp.updateMany({ where: { id: fu.id, csat: null }, data });
        if (count) await recordAudit(tx, { actor: 'system', action: 'task.survey-score', entity: 'task', entityId: fu.id, storeId: fu.storeId, before: { csat: null, answerChannel: fu.answerChannel }, after: data, reason: `the customer's ${input.channel} answer` });
      });
      return { problem: outcomeHasProblem({ reached: true, csat: input.csat }) };
    },

    /** Closes a follow-up nobody completed; a no-op when it was closed meanwhile. */
    async closeFollowUp(input: { followUpId: string; status: 'missed' | 'cancelled' }): Promise<string> {
      const closed = await db.$transaction(async (tx) => {
        const { count } = await tx.followUp.updateMany({ where: { id: input.followUpId, status: 'open' }, data: { status: input.status } });
        if (count === 0) return false;
        const { storeId } = await tx.followUp.findUniqueOrThrow({ where: { id: input.followUpId }, select: { storeId: true } });
        const reason = input.status === 'missed' ? 'nobody completed the call within two days after its window closed' : 'the ownership ended before the call was due';
        await recordAudit(tx, { actor: 'system', action: `task.${input.status}`, entity: 'task', entityId: input.followUpId, storeId, before: { status: 'open' }, after: { status: input.status }, reason });
        return true;
      });
      if (!closed) return (await db.followUp.findUniqueOrThrow({ where: { id: input.followUpId } })).status;
      return input.status;
    },

    /**
     * The customer asked to be called at another time: the task shows (and reminds of) that time,
     * or when their window next opens. The required window stays where the plan put it.
     */
    async rescheduleFollowUp(input: { followUpId: string; requestedAt: string; staffId?: string | null }): Promise<{ requestedAt: string; nextAttemptAt: string }> {
      const { fu, timeZone, customerWindow } = await window(input.followUpId);
      const requestedAt = new Date(input.requestedAt);
      const nextAttemptAt = rescheduleCall({ requestedAt, customerWindow, timeZone });
      // A retry that finds its change committed records nothing twice.
      if (fu.requestedAt?.getTime() !== requestedAt.getTime() || fu.nextAttemptAt?.getTime() !== nextAttemptAt.getTime()) await db.$transaction(async (tx) => {
        await tx.followUp.update({ where: { id: fu.id }, data: { requestedAt, nextAttemptAt } });
        await recordAudit(tx, {
          actor: actorOf(input.staffId), action: 'task.reschedule', entity: 'task', entityId: fu.id, storeId: fu.storeId,
          before: { requestedAt: fu.requestedAt, nextAttemptAt: fu.nextAttemptAt }, after: { requestedAt, nextAttemptAt },
        });
      });
      return { requestedAt: requestedAt.toISOString(), nextAttemptAt: nextAttemptAt.toISOString() };
    },

    /** The ownership ended (sold, transferred, scrapped, the customer's wish): the delivery says so. */
    async endDelivery(input: { deliveryId: string; reason: string; endedAt: string }): Promise<void> {
      await db.delivery.updateMany({
        where: { id: input.deliveryId, status: { not: 'ended' } },
        data: { status: 'ended', endedAt: new Date(input.endedAt), endedReason: input.reason },
      });
    },

    async markMandatory(input: { followUpId: string }): Promise<void> {
      await db.followUp.update({ where: { id: input.followUpId }, data: { mandatory: true } });
    },

    /**
     * A case for CR staff: a dissatisfied answer or complaint on a task (one case per task and
     * reason), or a customer's written reply (one per message), with its own workflow. Idempotent.
     */
    async openEscalationCase(input: OpenEscalationCaseInput): Promise<{ caseId: string; assigneeId: string | null }> {
      const opened = (await openCase(deps, input))!;
      deps.logger.info({ caseId: opened.caseId, storeId: opened.storeId, assigneeId: opened.assigneeId, reason: input.reason }, 'escalation case opened');
      // A repeat finds the case already there: its assignee, not whoever is least loaded now.
      return { caseId: opened.caseId, assigneeId: opened.assigneeId };
    },
  };
}
