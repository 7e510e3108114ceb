import { ApplicationFailure } from '@temporalio/common';
import { ContactWindowSchema } from '../domain/contact-window';
import { ErrorType } from '../domain/errors';
import { CallOutcome, callOutcomeEffect, outcomeHasProblem } from '../domain/outcome';
import { normalizePhone } from '../domain/phone';
import { rescheduleCall } from '../domain/plan';
import { callAssignee, crSpecialistFor, withAssignment } from '../services/assignment';
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
function storedOutcome(fu: { reached: boolean | null; satisfied: boolean | null; csat: number | null; complaint: string | null }): CallOutcome {
  return { reached: fu.reached ?? false, satisfied: fu.satisfied ?? undefined, csat: fu.csat ?? undefined, complaint: fu.complaint ?? undefined };
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
      const created = await withAssignment(db, async (tx) => tx.followUp.upsert({
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
        const { count } = await tx.followUp.updateMany({
          where: { id: fu.id, status: 'open', attempts: fu.attempts },
          data: {
            attempts: effect.attempts, status: effect.status, nextAttemptAt: effect.nextAttemptAt, reached: o.reached, note: o.note,
            completedAt: closed ? completedAt : null, completedById: input.completedById ?? fu.completedById,
            ...(o.reached && {
              satisfied: o.satisfied, csat: o.csat, nps: o.nps, promisesKept: o.promisesKept, complaint: o.complaint,
              contactDataCorrect: o.contactDataCorrect, answerChannel: 'phone',
            }),
          },
        });
        if (count === 0) throw new Error(`follow-up ${fu.id} changed while its outcome was being recorded`);
        const phone = o.correctedContact?.phone ? normalizePhone(o.correctedContact.phone) : null;
        if (phone || o.correctedContact?.email) {
          await tx.customer.update({
            where: { id: fu.delivery.customerId },
            data: { ...(phone && { phone }), ...(o.correctedContact?.email && { email: o.correctedContact.email }) },
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
      await db.followUp.updateMany({ where: { id: fu.id, csat: null }, data: { csat: input.csat, answerChannel: fu.answerChannel ?? input.channel } });
      return { problem: outcomeHasProblem({ reached: true, csat: input.csat }) };
    },

    /** Closes a follow-up nobody completed; a no-op when it was closed meanwhile. */
    async closeFollowUp(input: { followUpId: string; status: 'missed' | 'cancelled' }): Promise<string> {
      const { count } = await db.followUp.updateMany({ where: { id: input.followUpId, status: 'open' }, data: { status: input.status } });
      if (count === 0) return (await db.followUp.findUniqueOrThrow({ where: { id: input.followUpId } })).status;
      return input.status;
    },

    /**
     * The customer asked to be called at another time: the task shows (and reminds of) that time,
     * or when their window next opens. The required window stays where the plan put it.
     */
    async rescheduleFollowUp(input: { followUpId: string; requestedAt: string }): Promise<{ requestedAt: string; nextAttemptAt: string }> {
      const { fu, timeZone, customerWindow } = await window(input.followUpId);
      const requestedAt = new Date(input.requestedAt);
      const nextAttemptAt = rescheduleCall({ requestedAt, customerWindow, timeZone });
      await db.followUp.update({ where: { id: fu.id }, data: { requestedAt, nextAttemptAt } });
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
     * reason), or a customer's written reply (one per message). Idempotent.
     */
    async openEscalationCase(input: OpenEscalationCaseInput): Promise<{ caseId: string; assigneeId: string | null }> {
      const delivery = await db.delivery.findUniqueOrThrow({ where: { id: input.deliveryId } });
      const c = await withAssignment(db, async (tx) => tx.escalationCase.upsert({
        where: 'followUpId' in input
          ? { followUpId_reason: { followUpId: input.followUpId, reason: input.reason } }
          : { inboundMessageId_reason: { inboundMessageId: input.inboundMessageId, reason: input.reason } },
        update: {},
        create: {
          storeId: delivery.storeId, deliveryId: delivery.id, reason: input.reason, detail: input.detail,
          followUpId: 'followUpId' in input ? input.followUpId : null, inboundMessageId: input.inboundMessageId ?? null,
          assigneeId: await crSpecialistFor(tx, delivery.storeId),
        },
      }));
      deps.logger.info({ caseId: c.id, storeId: delivery.storeId, assigneeId: c.assigneeId, reason: input.reason }, 'escalation case opened');
      // A repeat finds the case already there: its assignee, not whoever is least loaded now.
      return { caseId: c.id, assigneeId: c.assigneeId };
    },
  };
}
