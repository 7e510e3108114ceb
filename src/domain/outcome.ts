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
    /** An invitation to the showroom (the replacement outreach call): booked a visit, or came. */
    showroomVisit: z.enum(['booked', 'came']).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.reached) {
      // Every reached follow-up asks whether the customer is satisfied: the satisfaction KPI counts them all.
      if (o.satisfied === undefined) ctx.addIssue({ code: 'custom', path: ['satisfied'], message: 'required when the customer was reached' });
      return;
    }
    for (const field of ['satisfied', 'csat', 'nps', 'promisesKept', 'complaint', 'showroomVisit'] as const) {
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

/** What a call task holds that the outcome rules read. */
export interface CallTaskCounters {
  attempts: number;
  maxAttempts: number;
  /** The end of the required window (never moved by a call-back request). */
  dueEnd: Date;
}

/** What recording one call outcome does to its task: the one rule, used by the activity and by the tests' fakes. */
export interface CallOutcomeEffect {
  status: 'open' | 'failed' | 'done_on_time' | 'done_late';
  attempts: number;
  /** After an unreached attempt with tries left: when to call again (inside the customer's window). */
  nextAttemptAt: Date | null;
  problem: boolean;
}

/**
 * A reached customer closes the task, on time when inside the required window; an unreached one
 * is tried again `retryAfterMinutes` later at the next instant `nextAllowed` allows (the
 * customer's window), until the plan's attempts run out and the task fails.
 */
export function callOutcomeEffect(input: {
  task: CallTaskCounters;
  outcome: CallOutcome;
  completedAt: Date;
  retryAfterMinutes: number;
  nextAllowed: (at: Date) => Date;
}): CallOutcomeEffect {
  const { task, outcome, completedAt } = input;
  const attempts = task.attempts + 1;
  if (!outcome.reached) {
    const exhausted = attempts >= task.maxAttempts;
    return {
      status: exhausted ? 'failed' : 'open',
      attempts,
      nextAttemptAt: exhausted ? null : input.nextAllowed(new Date(completedAt.getTime() + input.retryAfterMinutes * 60_000)),
      problem: false,
    };
  }
  return { status: completionStatus(completedAt, task.dueEnd), attempts, nextAttemptAt: null, problem: outcomeHasProblem(outcome) };
}
