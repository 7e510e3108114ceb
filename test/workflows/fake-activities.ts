import { Context } from '@temporalio/activity';
import type { Activities } from '../../src/activities';
import type { CaseActivities } from '../../src/activities/cases';
import type { DigestActivities } from '../../src/activities/digest';
import type { ImportActivities } from '../../src/activities/import';
import type { NotificationActivities } from '../../src/activities/notifications';
import type { ReplacementActivities } from '../../src/activities/replacement';
import type { OpenFollowUpInput } from '../../src/activities/follow-ups';
import type { SendMessageInput, SendMessageResult } from '../../src/activities/messaging';
import type { RecordYearsCycleInput } from '../../src/activities/years';
import { isConsentGiven } from '../../src/domain/consent';
import { ContactWindow, DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import { callOutcomeEffect, outcomeHasProblem } from '../../src/domain/outcome';
import { rescheduleCall } from '../../src/domain/plan';

/** One recorded activity call: its typed input and the workflow time at which it was scheduled. */
export type ActivityCall = {
  [K in keyof Activities]: { name: K; input: Parameters<Activities[K]>[0]; at: Date };
}[keyof Activities];

/** Lets a test act while an activity is in flight, or answer (or fail) a send its own way. */
export interface FakeHooks {
  whileOpening?: (input: OpenFollowUpInput) => Promise<void>;
  sendMessage?: (input: SendMessageInput) => SendMessageResult | undefined;
  /** Throws to model the database being down while a cycle's KPI row is written. */
  recordYearsCycle?: (input: RecordYearsCycleInput) => void;
}

interface FakeFollowUp {
  deliveryId: string;
  stepKey: string;
  dueEnd: Date;
  attempts: number;
  maxAttempts: number;
  status: string;
  mandatory: boolean;
  csat?: number;
}

/**
 * In-memory stand-ins for every activity. They apply the product's own rules (callOutcomeEffect,
 * rescheduleCall with the customer's window, closing never overwrites) rather than copies of them,
 * so a rule wrong in the product is wrong here too. Results carry IDs only, so recorded histories
 * hold no personal data. `windows` holds each delivery's customer window and `consents` its
 * customer's recorded consents ("channel:purpose"), as the database would; `cycles` the years' KPI rows.
 */
export function fakeActivities(timeZone = 'Asia/Shanghai', hooks: FakeHooks = {}) {
  const calls: ActivityCall[] = [];
  const followUps = new Map<string, FakeFollowUp>();
  const windows = new Map<string, ContactWindow>();
  const consents = new Map<string, Map<string, boolean>>();
  const cycles = new Map<string, Omit<RecordYearsCycleInput, 'change' | 'at'> & Partial<Record<RecordYearsCycleInput['change'], string>>>();
  const nextAllowed = (fu: FakeFollowUp) => (at: Date) =>
    rescheduleCall({ requestedAt: at, customerWindow: windows.get(fu.deliveryId) ?? DEFAULT_CUSTOMER_WINDOW, timeZone });

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

  // The case, import and digest workflows' activities (the screening too) are real ones against a database in their own tests.
  const activities: Omit<Activities, keyof CaseActivities | keyof ImportActivities | keyof DigestActivities | keyof NotificationActivities | keyof ReplacementActivities> = {
    async sendMessage(input) {
      record('sendMessage', input);
      const hooked = hooks.sendMessage?.(input);
      if (hooked) return hooked;
      const stored = consents.get(input.deliveryId)?.get(`${input.channel}:${input.purpose}`);
      if (!isConsentGiven(input.purpose, stored === undefined ? null : { granted: stored })) return { messageId: null, status: 'suppressed', reason: 'no consent' };
      return { messageId: `msg-${input.deliveryId}-${input.templateKey}`, status: 'sent' };
    },
    async openFollowUp(input) {
      record('openFollowUp', input);
      await hooks.whileOpening?.(input);
      const followUpId = `fu-${input.deliveryId}-${input.stepKey}`;
      if (!followUps.has(followUpId)) {
        followUps.set(followUpId, {
          deliveryId: input.deliveryId, stepKey: input.stepKey, dueEnd: new Date(input.dueEnd), attempts: 0, maxAttempts: input.maxAttempts,
          status: 'open', mandatory: input.mandatory,
        });
      }
      return { followUpId, assigneeId: `staff-${input.role}` };
    },
    async recordOutcome(input) {
      record('recordOutcome', input);
      const fu = followUp(input.followUpId);
      const effect = callOutcomeEffect({
        task: fu, outcome: input.outcome, completedAt: new Date(input.completedAt), retryAfterMinutes: input.retryAfterMinutes, nextAllowed: nextAllowed(fu),
      });
      Object.assign(fu, { status: effect.status, attempts: effect.attempts });
      return { ...effect, nextAttemptAt: effect.nextAttemptAt?.toISOString() ?? null };
    },
    async recordSurveyScore(input) {
      record('recordSurveyScore', input);
      const fu = followUp(input.followUpId);
      fu.csat ??= input.csat;
      return { problem: outcomeHasProblem({ reached: true, csat: input.csat }) };
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
      return { requestedAt: input.requestedAt, nextAttemptAt: nextAllowed(fu)(new Date(input.requestedAt)).toISOString() };
    },
    async endDelivery(input) {
      record('endDelivery', input);
    },
    async markMandatory(input) {
      record('markMandatory', input);
      followUp(input.followUpId).mandatory = true;
    },
    async recordYearsCycle(input) {
      record('recordYearsCycle', input);
      hooks.recordYearsCycle?.(input);
      const key = `${input.deliveryId}:${input.key}`;
      const row = cycles.get(key) ?? { deliveryId: input.deliveryId, key: input.key, kind: input.kind, dueOn: input.dueOn };
      cycles.set(key, { ...row, dueOn: input.dueOn, [input.change]: row[input.change] ?? input.at });
    },
    async openEscalationCase(input) {
      record('openEscalationCase', input);
      const subject = 'followUpId' in input ? input.followUpId : input.inboundMessageId;
      return { caseId: `case-${subject}-${input.reason}`, assigneeId: 'staff-cr_specialist' };
    },
  };

  /** The calls of one activity, typed by its name. */
  function callsOf<K extends keyof Activities>(name: K): Extract<ActivityCall, { name: K }>[] {
    return calls.filter((c): c is Extract<ActivityCall, { name: K }> => c.name === name);
  }

  /** A customer's consent for one delivery, as the consent API records it. */
  function setConsent(deliveryId: string, channel: 'sms' | 'email', purpose: 'service' | 'marketing', granted: boolean): void {
    if (!consents.has(deliveryId)) consents.set(deliveryId, new Map());
    consents.get(deliveryId)!.set(`${channel}:${purpose}`, granted);
  }

  return { activities, calls, callsOf, windows, setConsent, cycles };
}
