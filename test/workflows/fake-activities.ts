import { Context } from '@temporalio/activity';
import type { Activities } from '../../src/activities';
import type { OpenFollowUpInput } from '../../src/activities/follow-ups';
import type { SendMessageInput, SendMessageResult } from '../../src/activities/messaging';
import { DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import { completionStatus, outcomeHasProblem } from '../../src/domain/outcome';
import { rescheduleCall } from '../../src/domain/plan';

/** One recorded activity call: its typed input and the workflow time at which it was scheduled. */
export type ActivityCall = {
  [K in keyof Activities]: { name: K; input: Parameters<Activities[K]>[0]; at: Date };
}[keyof Activities];

/** Lets a test act while an activity is in flight, or answer (or fail) a send its own way. */
export interface FakeHooks {
  whileOpening?: (input: OpenFollowUpInput) => Promise<void>;
  sendMessage?: (input: SendMessageInput) => SendMessageResult | undefined;
}

interface FakeFollowUp {
  stepKey: string;
  dueEnd: Date;
  attempts: number;
  maxAttempts: number;
  status: string;
  mandatory: boolean;
}

/**
 * In-memory stand-ins for every activity, following the same domain rules as the real ones
 * (on time vs late, retries inside the window, closing never overwrites). Results carry IDs only,
 * so recorded histories hold no personal data.
 */
export function fakeActivities(timeZone = 'Asia/Shanghai', hooks: FakeHooks = {}) {
  const calls: ActivityCall[] = [];
  const followUps = new Map<string, FakeFollowUp>();

  function record<K extends keyof Activities>(name: K, input: Parameters<Activities[K]>[0]): void {
    // The time the workflow scheduled the activity: the test server's (skipped) clock, not the wall clock.
    const at = new Date(Context.current().info.scheduledTimestampMs);
    calls.push({ name, input, at } as ActivityCall);
  }

  function followUp(id: string): FakeFollowUp {
    const fu = followUps.get(id);
    if (!fu) throw new Error(`fake: no follow-up ${id}`);
    return fu;
  }

  const activities: Activities = {
    async sendMessage(input) {
      record('sendMessage', input);
      return hooks.sendMessage?.(input) ?? { messageId: `msg-${input.deliveryId}-${input.templateKey}`, status: 'sent' };
    },
    async openFollowUp(input) {
      record('openFollowUp', input);
      await hooks.whileOpening?.(input);
      const followUpId = `fu-${input.deliveryId}-${input.stepKey}`;
      if (!followUps.has(followUpId)) {
        followUps.set(followUpId, {
          stepKey: input.stepKey, dueEnd: new Date(input.dueEnd), attempts: 0, maxAttempts: input.maxAttempts, status: 'open', mandatory: input.mandatory,
        });
      }
      return { followUpId, assigneeId: `staff-${input.role}` };
    },
    async recordOutcome(input) {
      record('recordOutcome', input);
      const fu = followUp(input.followUpId);
      const completedAt = new Date(input.completedAt);
      fu.attempts++;
      if (!input.outcome.reached) {
        const exhausted = fu.attempts >= fu.maxAttempts;
        fu.status = exhausted ? 'failed' : 'open';
        const nextAttemptAt = exhausted
          ? null
          : rescheduleCall({ requestedAt: new Date(completedAt.getTime() + input.retryAfterMinutes * 60_000), customerWindow: DEFAULT_CUSTOMER_WINDOW, timeZone }).toISOString();
        return { status: fu.status, attempts: fu.attempts, nextAttemptAt, problem: false };
      }
      fu.status = completionStatus(completedAt, fu.dueEnd);
      return { status: fu.status, attempts: fu.attempts, nextAttemptAt: null, problem: outcomeHasProblem(input.outcome) };
    },
    async closeFollowUp(input) {
      record('closeFollowUp', input);
      const fu = followUp(input.followUpId);
      if (fu.status === 'open') fu.status = input.status;
      return fu.status;
    },
    async rescheduleFollowUp(input) {
      record('rescheduleFollowUp', input);
      const fu = followUp(input.followUpId);
      const dueStart = rescheduleCall({ requestedAt: new Date(input.requestedAt), customerWindow: DEFAULT_CUSTOMER_WINDOW, timeZone });
      fu.dueEnd = new Date(Math.max(fu.dueEnd.getTime(), dueStart.getTime() + 60 * 60_000));
      return { dueStart: dueStart.toISOString(), dueEnd: fu.dueEnd.toISOString() };
    },
    async markMandatory(input) {
      record('markMandatory', input);
      followUp(input.followUpId).mandatory = true;
    },
    async openEscalationCase(input) {
      record('openEscalationCase', input);
      return { caseId: `case-${input.followUpId}-${input.reason}`, assigneeId: 'staff-cr_specialist' };
    },
  };

  /** The calls of one activity, typed by its name. */
  function callsOf<K extends keyof Activities>(name: K): Extract<ActivityCall, { name: K }>[] {
    return calls.filter((c): c is Extract<ActivityCall, { name: K }> => c.name === name);
  }

  return { activities, calls, callsOf };
}
