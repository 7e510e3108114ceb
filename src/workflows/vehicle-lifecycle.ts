/**
 * VERSIONING: lifecycle workflows run for years, and each replays its history on whatever code is
 * deployed. So every change to what this file does (which activities and timers it starts, in
 * what order, on what conditions) goes behind `patched('<change-id>')`, keeping the old path for
 * the histories already written; `deprecatePatch` it only once no workflow started before the
 * change is running. test/workflows/replay.test.ts replays the saved histories in test/histories
 * on this code and fails on non-determinism: keep the old files, and record the new path's
 * (RECORD_HISTORIES=1, see test/workflows/histories.ts). A new contact plan needs none of this:
 * the plan is workflow input, so a running workflow keeps the version it started with (a message
 * step's `notAfterMinutes` is such plan data).
 *
 * Patches in v2: 'mark-mandatory-opened-meanwhile', 'wait-for-deferred-send'.
 * Patches in v3: 'escalate-any-dissatisfied-call', 'stop-missed-timer-on-completion'.
 * Patches in v4: 'one-answer-at-a-time', 'required-window-never-moves', 'missed-stays-missed-on-end',
 * 'record-ownership-end'.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  applyContactWindow,
  CLOSED_STEP_STATUSES,
  initialLifecycleState,
  LifecycleInput,
  lifecycleInputProblem,
  LifecycleState,
  messageNotAfter,
  messageStillTimely,
  missedAt,
  requestedTimeProblem,
  StepState,
  StepStatus,
  unfinishedCallStatus,
} from '../domain/lifecycle';
import type { CallStep, MessageStep } from '../domain/plan';
import {
  AnswerResult,
  CallAnswer,
  consentChangedSignal,
  contactWindowChangedSignal,
  CustomerAnswer,
  customerRepliedSignal,
  legacyCompleteTaskUpdate,
  ownershipEndedSignal,
  recordAnswerUpdate,
  RescheduleRequest,
  rescheduleTaskUpdate,
  stateQuery,
} from './contract';

const RETRY = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;

/** The plan's own steps retry through outages for as long as it takes: nothing may be skipped. */
const { openFollowUp, closeFollowUp, markMandatory, endDelivery } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY });

/** Sends time out sooner (the Twilio client gives up after 15 s), so a crashed worker's send is retried soon. */
const { sendMessage } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY });

/**
 * Activities behind an update have a caller waiting: a few quick tries, then the update fails
 * (the API answers 503) instead of holding the caller, and the step, until the database is back.
 */
const answering = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 4 },
});

/** A message step's status from the send's answer ("sent", "delivered" and "queued" all count as sent). */
const MESSAGE_STEP_STATUS: Partial<Record<string, StepStatus>> = {
  suppressed: 'suppressed', skipped: 'skipped', failed: 'undeliverable', undelivered: 'undeliverable', expired: 'expired',
};

const taskClosed = (s: StepState) => ApplicationFailure.nonRetryable(`task ${s.key} is ${s.status}`, 'TaskAlreadyClosed');
const noSuchStep = (what: string) => ApplicationFailure.nonRetryable(what, 'RecordNotFound');

/**
 * One workflow per vehicle ownership (entity workflow), ID `vehicle-<storeId>-<vin>`. It runs the
 * store's post-delivery plan as it was when the car was delivered, then stays for the years of
 * ownership, continuing as new before its history grows large. It is the one writer of its
 * follow-ups: every customer answer, call-back request and end of ownership comes through it.
 */
export async function vehicleLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const problem = input.carried ? null : lifecycleInputProblem(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidWorkflowInput');
  const state: LifecycleState = input.carried ?? initialLifecycleState(input);
  /** Bumped whenever due times move or a task closes, so sleeping steps wake up and look again. */
  let scheduleVersion = 0;
  let endedAt: string | undefined;
  const findStep = (key: string) => state.steps.find((s) => s.key === key);
  const stepOf = (key: string) => findStep(key)!;
  const planStepOf = (key: string) => input.plan.steps.find((s) => s.key === key)!;
  const ended = () => state.phase === 'ended';

  /** Steps with an answer or a call-back being recorded: a second one for the same step waits its turn. */
  const busySteps = new Set<string>();
  async function oneAtATime<T>(stepKey: string, fn: () => Promise<T>): Promise<T> {
    if (!patched('one-answer-at-a-time')) return fn();
    // Checked again after every wake-up: two waiters may wake together, and only one may go on.
    while (busySteps.has(stepKey)) await condition(() => !busySteps.has(stepKey));
    busySteps.add(stepKey);
    try {
      return await fn();
    } finally {
      busySteps.delete(stepKey);
    }
  }

  setHandler(stateQuery, () => state);

  setHandler(contactWindowChangedSignal, (w) => {
    applyContactWindow(state, input, w);
    scheduleVersion++;
  });

  setHandler(consentChangedSignal, ({ channel, purpose, granted }) => {
    state.consent[`${channel}:${purpose}`] = granted;
  });

  setHandler(customerRepliedSignal, () => {
    state.repliesReceived++;
  });

  setHandler(ownershipEndedSignal, ({ reason, endedAt: at }) => {
    if (ended()) return;
    state.phase = 'ended';
    state.endedReason = reason;
    endedAt = at ?? new Date().toISOString();
  });

  setHandler(recordAnswerUpdate, answer, { validator: validateAnswer });

  // The first versions' name for a call outcome; kept for the histories that carry it.
  setHandler(
    legacyCompleteTaskUpdate,
    ({ stepKey, outcome }) => answer({ kind: 'call', stepKey, outcome, answeredAt: new Date().toISOString(), staffId: null }),
    { validator: ({ stepKey, outcome }) => validateAnswer({ kind: 'call', stepKey, outcome, answeredAt: '', staffId: null }) },
  );

  setHandler(rescheduleTaskUpdate, reschedule, {
    validator: ({ stepKey, requestedAt }) => {
      const s = findStep(stepKey);
      if (!s || s.kind !== 'call') throw noSuchStep(`no call step ${stepKey}`);
      if (s.status !== 'open') throw taskClosed(s);
      const problem = requestedTimeProblem(s, new Date(requestedAt), new Date());
      if (problem) throw ApplicationFailure.nonRetryable(`requestedAt ${problem}`, 'InvalidRequest');
    },
  });

  /** Refuses, before it is accepted into the history, an answer the workflow cannot record. */
  function validateAnswer(a: CustomerAnswer): void {
    if (a.kind === 'reply') return;
    const s = findStep(a.stepKey);
    if (!s || s.kind !== 'call') throw noSuchStep(`no call step ${a.stepKey}`);
    if (a.kind === 'call' && s.status !== 'open') throw taskClosed(s);
    const planned = planStepOf(a.stepKey);
    if (a.kind === 'score' && (planned.kind !== 'call' || !planned.survey || !s.followUpId)) throw noSuchStep(`no survey under way at step ${a.stepKey}`);
  }

  async function answer(a: CustomerAnswer): Promise<AnswerResult> {
    if (a.kind === 'reply') {
      const { caseId } = await answering.openEscalationCase({
        deliveryId: input.deliveryId, inboundMessageId: a.inboundMessageId, reason: 'customer-reply', detail: `the customer wrote back by ${a.channel}`,
      });
      if (!state.caseIds.includes(caseId)) state.caseIds.push(caseId);
      return { status: null, attempts: 0, nextAttemptAt: null, problem: false, caseId };
    }
    if (a.kind === 'call') return oneAtATime(a.stepKey, () => recordCall(a));
    const s = stepOf(a.stepKey);
    return oneAtATime(s.key, async () => {
      const { problem } = await answering.recordSurveyScore({ followUpId: s.followUpId!, csat: a.csat, channel: a.channel });
      const caseId = problem ? await escalate(s, 'dissatisfied', `${a.channel} survey answer ${a.csat}/5`, a.inboundMessageId) : undefined;
      return { status: s.status, attempts: s.attempts, nextAttemptAt: s.nextAttemptAt ?? null, problem, caseId };
    });
  }

  async function recordCall({ stepKey, outcome, answeredAt, staffId }: CallAnswer): Promise<AnswerResult> {
    const s = stepOf(stepKey);
    // A second answer that waited its turn finds the task the first one closed.
    if (s.status !== 'open') throw taskClosed(s);
    const step = planStepOf(stepKey) as CallStep;
    const result = await answering.recordOutcome({
      followUpId: s.followUpId!, outcome, completedAt: answeredAt, retryAfterMinutes: step.attempts.retryAfterMinutes,
      attemptNumber: s.attempts + 1, completedById: staffId,
    });
    s.status = result.status as StepStatus;
    s.attempts = result.attempts;
    s.nextAttemptAt = result.nextAttemptAt ?? undefined;
    // A closed task needs no missed-call timer: wake its step so the plan can finish early.
    if (CLOSED_STEP_STATUSES.has(s.status) && patched('stop-missed-timer-on-completion')) scheduleVersion++;
    let caseId: string | undefined;
    // DOMAIN.md section 5: any dissatisfied answer or complaint is escalated, not only the survey's.
    if (result.problem && (step.survey || patched('escalate-any-dissatisfied-call'))) {
      caseId = await escalate(s, outcome.complaint ? 'complaint' : 'dissatisfied', outcome.complaint);
    }
    return { ...result, status: s.status, caseId };
  }

  function reschedule({ stepKey, requestedAt, staffId }: RescheduleRequest) {
    return oneAtATime(stepKey, async () => {
      const s = stepOf(stepKey);
      if (s.status !== 'open') throw taskClosed(s);
      const moved = await answering.rescheduleFollowUp({ followUpId: s.followUpId!, requestedAt, staffId: staffId ?? null });
      if (patched('required-window-never-moves')) {
        s.requestedAt = moved.requestedAt;
        s.nextAttemptAt = moved.nextAttemptAt;
      } else {
        // Before v4 a call-back request moved the task's window (and so its timeliness) with it.
        const legacy = moved as unknown as { dueStart: string; dueEnd: string };
        s.dueStart = legacy.dueStart;
        s.dueEnd = legacy.dueEnd;
        s.nextAttemptAt = legacy.dueStart;
        scheduleVersion++;
      }
      return moved;
    });
  }

  /** A problem: a case for CR staff, and the manager's closing call becomes mandatory. */
  async function escalate(call: StepState, reason: 'dissatisfied' | 'complaint', detail?: string, inboundMessageId?: string): Promise<string> {
    state.problemFound = true;
    const { caseId } = await answering.openEscalationCase({ deliveryId: input.deliveryId, followUpId: call.followUpId!, reason, detail, inboundMessageId });
    if (!state.caseIds.includes(caseId)) state.caseIds.push(caseId);
    for (const s of state.steps) {
      const step = planStepOf(s.key);
      if (step.kind === 'call' && step.mandatoryOnProblem && !CLOSED_STEP_STATUSES.has(s.status)) {
        s.mandatory = true;
        if (s.followUpId) await answering.markMandatory({ followUpId: s.followUpId });
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
    // A delivery that reached us late: a message past its "not after" is recorded as expired, never sent.
    if (!messageStillTimely(step, input.deliveredAt, Date.now())) return void (s.status = 'expired');
    const notAfter = messageNotAfter(step, input.deliveredAt);
    try {
      for (;;) {
        const sent = await sendMessage({
          idempotencyKey: `${workflowInfo().workflowId}:${input.deliveryId}:${s.key}`,
          deliveryId: input.deliveryId, templateKey: step.template, channel: step.channel, purpose: 'service',
          ...(notAfter !== null && { notAfter: new Date(notAfter).toISOString() }),
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
    await sleepUntil(() => (s.status === 'open' ? missedAt(s) : 0));
    if (s.status !== 'open') return;
    // A call whose required window had closed stays missed when the ownership ends; only one still inside it is cancelled.
    const closing = patched('missed-stays-missed-on-end') ? unfinishedCallStatus(s, ended(), new Date()) : ended() ? 'cancelled' : 'missed';
    s.status = (await closeFollowUp({ followUpId: s.followUpId, status: closing })) as StepStatus;
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
  if (patched('record-ownership-end')) {
    await endDelivery({ deliveryId: input.deliveryId, reason: state.endedReason ?? 'unknown', endedAt: endedAt ?? new Date().toISOString() });
  }
  return state;
}
