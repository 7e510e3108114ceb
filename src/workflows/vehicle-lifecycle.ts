/**
 * VERSIONING: lifecycle workflows run for years, and each replays its history on whatever code is
 * deployed. So every change to what this file does (which activities and timers it starts, in
 * what order, on what conditions) goes behind `patched('<change-id>')`, keeping the old path for
 * the histories already written; `deprecatePatch` it only once no workflow started before the
 * change is running. test/workflows/replay.test.ts replays the saved histories in test/histories
 * on this code and fails on non-determinism: keep the old files, and record the new path's
 * (RECORD_HISTORIES=1, see test/workflows/histories.ts). A new contact plan needs none of this:
 * the plan is workflow input, so a running workflow keeps the version it started with.
 *
 * Patches in v2: 'mark-mandatory-opened-meanwhile', 'wait-for-deferred-send'.
 * Patches in v3: 'escalate-any-dissatisfied-call', 'stop-missed-timer-on-completion'.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ContactWindow } from '../domain/local-time';
import type { CallOutcome } from '../domain/outcome';
import type { CallStep, MessageStep, PlanStep } from '../domain/plan';
import { schedulePlan } from '../domain/schedule';

/**
 * One workflow per vehicle ownership (entity workflow), ID `vehicle-<storeId>-<vin>`. It runs the
 * store's post-delivery plan as it was when the car was delivered, then stays for the years of
 * ownership, continuing as new before its history grows large.
 */
export interface LifecycleInput {
  deliveryId: string;
  storeId: string;
  timeZone: string;
  deliveredAt: string;
  customerWindow: ContactWindow;
  plan: { id: string; version: number; steps: PlanStep[] };
  /** Set only by continue-as-new. */
  carried?: LifecycleState;
}

export type StepStatus =
  | 'scheduled' | 'open' | 'sent' | 'skipped' | 'suppressed' | 'undeliverable'
  | 'done_on_time' | 'done_late' | 'missed' | 'failed' | 'cancelled';

export interface StepState {
  key: string;
  kind: 'message' | 'call';
  role: PlanStep['role'];
  dueStart: string;
  dueEnd: string;
  status: StepStatus;
  followUpId?: string;
  messageId?: string;
  attempts: number;
  nextAttemptAt?: string;
  mandatory: boolean;
}

export interface LifecycleState {
  phase: 'post-delivery' | 'ownership' | 'ended';
  planVersion: number;
  customerWindow: ContactWindow;
  steps: StepState[];
  problemFound: boolean;
  caseIds: string[];
  /** Consent as last signalled, keyed "channel:purpose" (the send activity checks the database too). */
  consent: Record<string, boolean>;
  repliesReceived: number;
  endedReason?: string;
}

export interface CompleteTaskInput {
  stepKey: string;
  outcome: CallOutcome;
}

export const stateQuery = defineQuery<LifecycleState>('state');
export const completeTaskUpdate = defineUpdate<{ status: string; attempts: number; nextAttemptAt: string | null; caseId?: string }, [CompleteTaskInput]>('completeTask');
export const rescheduleTaskUpdate = defineUpdate<{ dueStart: string; dueEnd: string }, [{ stepKey: string; requestedAt: string }]>('rescheduleTask');
export const contactWindowChangedSignal = defineSignal<[ContactWindow]>('contactWindowChanged');
export const ownershipEndedSignal = defineSignal<[{ reason: string }]>('ownershipEnded');
/** An inbound SMS from the customer, already classified and recorded by the webhook. */
export const customerRepliedSignal = defineSignal<[{ kind: 'opt-out' | 'opt-in' | 'help' | 'csat' | 'free-text'; messageId: string }]>('customerReplied');
/** Consent changed for a channel and purpose (opt-out, opt-in); sends check consent again anyway. */
export const consentChangedSignal = defineSignal<[{ channel: 'sms' | 'email'; purpose: 'service' | 'marketing'; granted: boolean }]>('consentChanged');

/** How long an unfinished call stays open after its window closes before it counts as missed. */
export const MISSED_AFTER_MS = 2 * 24 * 60 * 60 * 1000;

const RETRY = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;

const { openFollowUp, recordOutcome, closeFollowUp, rescheduleFollowUp, markMandatory, openEscalationCase } =
  proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY });

/** Sends time out sooner (the Twilio client gives up after 15 s), so a crashed worker's send is retried soon. */
const { sendMessage } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY });

/** A message step's status from the send's answer ("sent", "delivered" and "queued" all count as sent). */
const MESSAGE_STEP_STATUS: Partial<Record<string, StepStatus>> = {
  suppressed: 'suppressed', skipped: 'skipped', failed: 'undeliverable', undelivered: 'undeliverable',
};

const CLOSED: ReadonlySet<StepStatus> = new Set(['done_on_time', 'done_late', 'missed', 'failed', 'cancelled']);

/** The state a lifecycle starts in: its plan scheduled, nothing done. Pure; the API answers a new delivery with it. */
export function initialLifecycleState(input: LifecycleInput): LifecycleState {
  return {
    phase: 'post-delivery',
    planVersion: input.plan.version,
    customerWindow: input.customerWindow,
    steps: schedulePlan({ plan: { steps: input.plan.steps }, deliveredAt: new Date(input.deliveredAt), timeZone: input.timeZone, customerWindow: input.customerWindow }).map((s) => ({
      key: s.key, kind: s.kind, role: s.role, dueStart: s.dueStart.toISOString(), dueEnd: s.dueEnd.toISOString(),
      status: 'scheduled', attempts: 0, mandatory: false,
    })),
    problemFound: false,
    caseIds: [],
    consent: {},
    repliesReceived: 0,
  };
}

export async function vehicleLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const deliveredAt = new Date(input.deliveredAt);
  const plan = { steps: input.plan.steps };
  const state: LifecycleState = input.carried ?? initialLifecycleState(input);
  /** Bumped whenever due times move or a task closes, so sleeping steps wake up and look again. */
  let scheduleVersion = 0;
  const stepOf = (key: string) => state.steps.find((s) => s.key === key)!;
  const planStepOf = (key: string) => input.plan.steps.find((s) => s.key === key)!;
  const ended = () => state.phase === 'ended';

  setHandler(stateQuery, () => state);

  setHandler(contactWindowChangedSignal, (w) => {
    state.customerWindow = w;
    const fresh = schedulePlan({ plan, deliveredAt, timeZone: input.timeZone, customerWindow: w });
    for (const s of state.steps) {
      if (s.status !== 'scheduled') continue;
      const next = fresh.find((f) => f.key === s.key)!;
      s.dueStart = next.dueStart.toISOString();
      s.dueEnd = next.dueEnd.toISOString();
    }
    scheduleVersion++;
  });

  setHandler(consentChangedSignal, ({ channel, purpose, granted }) => {
    state.consent[`${channel}:${purpose}`] = granted;
  });

  setHandler(customerRepliedSignal, () => {
    state.repliesReceived++;
  });

  setHandler(ownershipEndedSignal, ({ reason }) => {
    state.phase = 'ended';
    state.endedReason = reason;
  });

  setHandler(
    completeTaskUpdate,
    async ({ stepKey, outcome }) => {
      const s = stepOf(stepKey);
      const step = planStepOf(stepKey) as CallStep;
      const result = await recordOutcome({
        followUpId: s.followUpId!, outcome, completedAt: new Date().toISOString(), retryAfterMinutes: step.attempts.retryAfterMinutes,
        attemptNumber: s.attempts + 1,
      });
      s.status = result.status as StepStatus;
      s.attempts = result.attempts;
      s.nextAttemptAt = result.nextAttemptAt ?? undefined;
      // A closed task needs no missed-call timer: wake its step so the plan can finish early.
      if (CLOSED.has(s.status) && patched('stop-missed-timer-on-completion')) scheduleVersion++;
      let caseId: string | undefined;
      // DOMAIN.md section 5: any dissatisfied answer or complaint is escalated, not only the survey's.
      if (result.problem && (step.survey || patched('escalate-any-dissatisfied-call'))) caseId = await escalate(s, outcome);
      return { ...result, caseId };
    },
    {
      // The outcome's shape is checked by the API (CallOutcomeSchema) before the update is sent.
      validator: ({ stepKey }) => {
        const s = state.steps.find((x) => x.key === stepKey);
        if (!s || s.kind !== 'call') throw ApplicationFailure.nonRetryable(`no call step ${stepKey}`, 'RecordNotFound');
        if (s.status !== 'open') throw ApplicationFailure.nonRetryable(`task ${stepKey} is ${s.status}`, 'TaskAlreadyClosed');
      },
    },
  );

  setHandler(
    rescheduleTaskUpdate,
    async ({ stepKey, requestedAt }) => {
      const s = stepOf(stepKey);
      const moved = await rescheduleFollowUp({ followUpId: s.followUpId!, requestedAt });
      s.dueStart = moved.dueStart;
      s.dueEnd = moved.dueEnd;
      s.nextAttemptAt = moved.dueStart;
      scheduleVersion++;
      return moved;
    },
    {
      validator: ({ stepKey }) => {
        const s = state.steps.find((x) => x.key === stepKey);
        if (!s || s.kind !== 'call' || s.status !== 'open') throw ApplicationFailure.nonRetryable(`no open task ${stepKey}`, 'TaskAlreadyClosed');
      },
    },
  );

  /** A call found a problem: a case for CR staff, and the manager's closing call becomes mandatory. */
  async function escalate(call: StepState, outcome: CallOutcome): Promise<string> {
    state.problemFound = true;
    const { caseId } = await openEscalationCase({
      deliveryId: input.deliveryId, followUpId: call.followUpId!, reason: outcome.complaint ? 'complaint' : 'dissatisfied', detail: outcome.complaint,
    });
    state.caseIds.push(caseId);
    for (const s of state.steps) {
      const step = planStepOf(s.key);
      if (step.kind === 'call' && step.mandatoryOnProblem && !CLOSED.has(s.status)) {
        s.mandatory = true;
        if (s.followUpId) await markMandatory({ followUpId: s.followUpId });
      }
    }
    return caseId;
  }

  /** Sleeps until `deadline()` (re-read whenever the schedule moves); false when ownership ended first. */
  async function sleepUntil(deadline: () => number): Promise<boolean> {
    for (;;) {
      if (ended()) return false;
      const ms = deadline() - Date.now();
      if (ms <= 0) return true;
      const seen = scheduleVersion;
      await condition(() => ended() || scheduleVersion !== seen, ms);
    }
  }

  async function runMessage(s: StepState, step: MessageStep): Promise<void> {
    if (!(await sleepUntil(() => Date.parse(s.dueStart)))) return void (s.status = 'cancelled');
    try {
      for (;;) {
        const sent = await sendMessage({
          idempotencyKey: `${workflowInfo().workflowId}:${input.deliveryId}:${s.key}`,
          deliveryId: input.deliveryId, templateKey: step.template, channel: step.channel, purpose: 'service',
        });
        s.messageId = sent.messageId ?? undefined;
        // Quiet hours or the frequency cap held it back: a durable timer, then the same send again.
        if (sent.status === 'deferred' && sent.notBefore && patched('wait-for-deferred-send')) {
          const notBefore = Date.parse(sent.notBefore);
          s.nextAttemptAt = sent.notBefore;
          if (!(await sleepUntil(() => notBefore))) return void (s.status = 'cancelled');
          continue;
        }
        s.nextAttemptAt = undefined;
        s.status = MESSAGE_STEP_STATUS[sent.status] ?? 'sent';
        return;
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      // A permanent refusal (bad number, opted out) is recorded by the activity; the plan goes on.
      log.warn('message step failed permanently', { step: s.key, error: String(err) });
      s.status = 'undeliverable';
    }
  }

  async function runCall(s: StepState, step: CallStep): Promise<void> {
    if (!(await sleepUntil(() => Date.parse(s.dueStart)))) return void (s.status = 'cancelled');
    if (step.mandatoryOnProblem && state.problemFound) s.mandatory = true;
    const mandatoryWhenOpened = s.mandatory;
    const opened = await openFollowUp({
      deliveryId: input.deliveryId, stepKey: s.key, role: step.role, checklist: step.checklist, survey: step.survey ?? false,
      mandatory: mandatoryWhenOpened, maxAttempts: step.attempts.max, dueStart: s.dueStart, dueEnd: s.dueEnd,
    });
    s.followUpId = opened.followUpId;
    s.status = 'open';
    // The survey found a problem while the task was being written: escalate() saw no task to mark.
    if (s.mandatory && !mandatoryWhenOpened && patched('mark-mandatory-opened-meanwhile')) await markMandatory({ followUpId: s.followUpId });
    await sleepUntil(() => (s.status === 'open' ? Date.parse(s.dueEnd) + MISSED_AFTER_MS : 0));
    if (s.status === 'open') s.status = (await closeFollowUp({ followUpId: s.followUpId, status: ended() ? 'cancelled' : 'missed' })) as StepStatus;
  }

  if (state.phase === 'post-delivery') {
    await Promise.all(
      state.steps.map((s) => {
        const step = planStepOf(s.key);
        return step.kind === 'message' ? runMessage(s, step) : runCall(s, step);
      }),
    );
    if (!ended()) state.phase = 'ownership';
  }

  // The years of ownership: later reminders (maintenance, insurance) hook in here.
  // Continuing as new at least yearly keeps each run's history short however long the car is kept.
  if (!ended()) await condition(() => ended() || workflowInfo().continueAsNewSuggested, '365 days');
  await condition(allHandlersFinished);
  if (!ended()) await continueAsNew<typeof vehicleLifecycle>({ ...input, carried: state });
  return state;
}
