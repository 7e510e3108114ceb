import { ApplicationFailure } from '@temporalio/common';
import { ContactWindowSchema } from '../domain/contact-window';
import { ErrorType } from '../domain/errors';
import { CallOutcome, completionStatus, outcomeHasProblem } from '../domain/outcome';
import { normalizePhone } from '../domain/phone';
import { rescheduleCall } from '../domain/plan';
import { callAssignee, crSpecialistFor } from '../services/assignment';
import type { ActivityDeps } from './deps';

export interface OpenFollowUpInput {
  deliveryId: string;
  stepKey: string;
  role: 'consultant' | 'supervisor' | 'cr_specialist' | 'manager';
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
  attemptNumber?: number;
}

export interface RecordOutcomeResult {
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  problem: boolean;
}

export function createFollowUpActivities(deps: Pick<ActivityDeps, 'db' | 'logger'>) {
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
      const created = await db.$transaction(async (tx) => tx.followUp.upsert({
        where: { deliveryId_stepKey: { deliveryId: input.deliveryId, stepKey: input.stepKey } },
        update: {},
        create: {
          storeId: delivery.storeId, deliveryId: delivery.id, stepKey: input.stepKey, kind: 'call', role: input.role,
          channel: 'phone', assigneeId: await callAssignee(tx, delivery, input.role), dueStart: new Date(input.dueStart), dueEnd: new Date(input.dueEnd),
          recordedLate: delivery.createdAt > new Date(input.dueEnd),
          checklist: input.checklist, survey: input.survey, mandatory: input.mandatory, maxAttempts: input.maxAttempts,
        },
      }));
      const { assigneeId } = created;
      if (!assigneeId) deps.logger.warn({ followUpId: created.id, storeId: delivery.storeId, role: input.role }, 'no active staff holds this role: task is unassigned');
      return { followUpId: created.id, assigneeId };
    },

    async recordOutcome(input: RecordOutcomeInput): Promise<RecordOutcomeResult> {
      const { fu, timeZone, customerWindow } = await window(input.followUpId);
      const completedAt = new Date(input.completedAt);
      // A retried activity whose first try already committed must answer the same thing again.
      const alreadyRecorded = input.attemptNumber !== undefined
        ? fu.attempts >= input.attemptNumber
        : fu.status !== 'open' && fu.completedAt?.getTime() === completedAt.getTime();
      if (alreadyRecorded) {
        return { status: fu.status, attempts: fu.attempts, nextAttemptAt: fu.nextAttemptAt?.toISOString() ?? null, problem: fu.satisfied === false || fu.complaint !== null || (fu.csat ?? 5) <= 2 };
      }
      if (fu.status !== 'open') throw ApplicationFailure.nonRetryable(`follow-up ${fu.id} is ${fu.status}`, ErrorType.TaskAlreadyClosed);
      // Written only if nobody recorded or closed the task since it was read (closeFollowUp may
      // race this); otherwise the activity's retry reads it again and answers from what it finds.
      const unchanged = { id: fu.id, status: 'open', attempts: fu.attempts };
      const changedMeanwhile = () => new Error(`follow-up ${fu.id} changed while its outcome was being recorded`);
      const o = input.outcome;
      const attempts = fu.attempts + 1;
      if (!o.reached) {
        const exhausted = attempts >= fu.maxAttempts;
        const nextAttemptAt = exhausted ? null : rescheduleCall({ requestedAt: new Date(completedAt.getTime() + input.retryAfterMinutes * 60_000), customerWindow, timeZone });
        const { count } = await db.followUp.updateMany({
          where: unchanged,
          data: { attempts, reached: false, status: exhausted ? 'failed' : 'open', nextAttemptAt, completedAt: exhausted ? completedAt : null, note: o.note },
        });
        if (count === 0) throw changedMeanwhile();
        return { status: exhausted ? 'failed' : 'open', attempts, nextAttemptAt: nextAttemptAt?.toISOString() ?? null, problem: false };
      }
      const status = completionStatus(completedAt, fu.dueEnd);
      await db.$transaction(async (tx) => {
        const { count } = await tx.followUp.updateMany({
          where: unchanged,
          data: {
            attempts, status, completedAt, nextAttemptAt: null, reached: true, satisfied: o.satisfied, csat: o.csat, nps: o.nps,
            promisesKept: o.promisesKept, complaint: o.complaint, contactDataCorrect: o.contactDataCorrect, note: o.note,
          },
        });
        if (count === 0) throw changedMeanwhile();
        const phone = o.correctedContact?.phone ? normalizePhone(o.correctedContact.phone) : null;
        if (phone || o.correctedContact?.email) {
          await tx.customer.update({
            where: { id: fu.delivery.customerId },
            data: { ...(phone && { phone }), ...(o.correctedContact?.email && { email: o.correctedContact.email }) },
          });
        }
      });
      return { status, attempts, nextAttemptAt: null, problem: outcomeHasProblem(o) };
    },

    /** Closes a follow-up nobody completed; a no-op when it was closed meanwhile. */
    async closeFollowUp(input: { followUpId: string; status: 'missed' | 'cancelled' }): Promise<string> {
      const { count } = await db.followUp.updateMany({ where: { id: input.followUpId, status: 'open' }, data: { status: input.status } });
      if (count === 0) return (await db.followUp.findUniqueOrThrow({ where: { id: input.followUpId } })).status;
      return input.status;
    },

    /** The customer asked to be called at another time: the task moves, inside the customer's window. */
    async rescheduleFollowUp(input: { followUpId: string; requestedAt: string }): Promise<{ dueStart: string; dueEnd: string }> {
      const { fu, timeZone, customerWindow } = await window(input.followUpId);
      const dueStart = rescheduleCall({ requestedAt: new Date(input.requestedAt), customerWindow, timeZone });
      const dueEnd = new Date(Math.max(fu.dueEnd.getTime(), dueStart.getTime() + 60 * 60_000));
      await db.followUp.update({ where: { id: fu.id }, data: { dueStart, dueEnd, nextAttemptAt: dueStart } });
      return { dueStart: dueStart.toISOString(), dueEnd: dueEnd.toISOString() };
    },

    async markMandatory(input: { followUpId: string }): Promise<void> {
      await db.followUp.update({ where: { id: input.followUpId }, data: { mandatory: true } });
    },

    /** A dissatisfied answer or complaint: a case for the store's CR specialist (the SLA ladder comes later). */
    async openEscalationCase(input: { deliveryId: string; followUpId: string; reason: 'dissatisfied' | 'complaint'; detail?: string }): Promise<{ caseId: string; assigneeId: string | null }> {
      const delivery = await db.delivery.findUniqueOrThrow({ where: { id: input.deliveryId } });
      const c = await db.$transaction(async (tx) => tx.escalationCase.upsert({
        where: { followUpId_reason: { followUpId: input.followUpId, reason: input.reason } },
        update: {},
        create: {
          storeId: delivery.storeId, deliveryId: delivery.id, followUpId: input.followUpId, reason: input.reason, detail: input.detail,
          assigneeId: await crSpecialistFor(tx, delivery.storeId),
        },
      }));
      deps.logger.info({ caseId: c.id, storeId: delivery.storeId, assigneeId: c.assigneeId, reason: input.reason }, 'escalation case opened');
      // A repeat finds the case already there: its assignee, not whoever is least loaded now.
      return { caseId: c.id, assigneeId: c.assigneeId };
    },
  };
}
