import { z } from 'zod';
import { MobilePhoneSchema } from './phone';
import { safeNote } from './text';

/** What a caller records after a follow-up call (the task's structured outcome). */
export const CallOutcomeSchema = z
  .strictObject({
    reached: z.boolean(),
    satisfied: z.boolean().optional(),
    csat: z.number().int().min(1).max(5).optional(),
    nps: z.number().int().min(0).max(10).optional(),
    promisesKept: z.boolean().optional(),
    complaint: safeNote(2000).optional(),
    /** I-2: whether the customer's contact data proved correct; corrections go in correctedContact. */
    contactDataCorrect: z.boolean().optional(),
    correctedContact: z
      .strictObject({ phone: MobilePhoneSchema.optional(), email: z.email().max(254).optional() })
      .optional(),
    note: safeNote(2000).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.reached) {
      // Every reached follow-up asks whether the customer is satisfied: the satisfaction KPI counts them all.
      if (o.satisfied === undefined) ctx.addIssue({ code: 'custom', path: ['satisfied'], message: 'required when the customer was reached' });
      return;
    }
    for (const field of ['satisfied', 'csat', 'nps', 'promisesKept', 'complaint'] as const) {
      if (o[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'an unreached customer gave no answer: leave it out' });
      }
    }
  });

export type CallOutcome = z.infer<typeof CallOutcomeSchema>;

/**
 * A problem opens an escalation case (DOMAIN.md section 5): a dissatisfied answer, a complaint,
 * or a CSAT of 1-2, which is a dissatisfied answer on the 5-point scale.
 */
export function outcomeHasProblem(outcome: CallOutcome): boolean {
  return outcome.satisfied === false || outcome.complaint !== undefined || (outcome.csat !== undefined && outcome.csat <= 2);
}

export type FollowUpStatus = 'open' | 'done_on_time' | 'done_late' | 'missed' | 'failed' | 'cancelled';

/** Closing status of a reached call: on time when completed before its window closed. */
export function completionStatus(completedAt: Date, dueEnd: Date): 'done_on_time' | 'done_late' {
  return completedAt.getTime() <= dueEnd.getTime() ? 'done_on_time' : 'done_late';
}
