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
 * Patches in v5: 'plan-the-years' (the years after delivery run beside the post-delivery plan, from
 * the start: maintenance, post-service calls, insurance, inspection, licence, greetings, DMS vehicle
 * events; continue-as-new carries only open steps), 'skip-closed-steps-of-imported'.
 * Patches in v6: 'send-on-messaging-queue' (sends go to the messaging task queue, paced for the provider).
 * Also in v6: the openOutreachCall update (a replacement outreach call, watched like a call of the
 * years). A new handler adds no command to a history that never received it, so it needs no patch;
 * the one change to existing code, awaiting its calls when the ownership ends, awaits nothing there.
 * Patches in v7: 'one-timer-for-the-plan' (the plan's steps wait on one timer, the next step's).
 * v8: a run whose first workflow task runs on v8 code or later records one marker there, 'v8-baseline',
 * and takes every change above without a marker of its own (`changed(id)`). The SDK adds a
 * search-attribute upsert to each marker, a visibility write in Temporal, and a morning's due
 * reminders, each the first send of its run, met 'send-on-messaging-queue' all at once: about a
 * quarter of Temporal's work per reminder (docs/SCALING.md, the burst).
 * Runs started before v8, and their replays, still meet each patch where they always did. A change
 * after v8 goes behind `patched()` as before.
 * Patches in v9: 'outreach-days-with-an-open-window' (a replacement outreach call opened after the
 * day's contact window counts its days from tomorrow).
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
import { localDateOf } from '../domain/local-time';
import { OUTREACH_CALL, outreachStepKey, outreachWindow } from '../domain/replacement';
import type { Activities } from '../activities';
import type { CallRole } from '../services/assignment';
import {
  applyContactWindow,
  CLOSED_STEP_STATUSES,
  LifecycleInput,
  LifecycleState,
  messageNotAfter,
  missedAt,
  requestedTimeProblem,
  startingState,
  StepState,
  StepStatus,
  unfinishedCallStatus,
} from '../domain/lifecycle';
import type { CallStep, PlanStep } from '../domain/plan';
import {
  applyVehicleEvent,
  CycleChange,
  DEFAULT_YEARS_PLAN,
  DueTouch,
  initialYearsState,
  MARKETING_KINDS,
  nextDueTouch,
  nextRollAt,
  rollCycles,
  touchDisposition,
  upcoming,
  VehicleEvent,
  vehicleEventProblem,
  YearsCallTouch,
  YearsContext,
  YearsState,
} from '../domain/years';
import {
  AnswerResult,
  CallAnswer,
  consentChangedSignal,
  contactWindowChangedSignal,
  CustomerAnswer,
  customerRepliedSignal,
  legacyCompleteTaskUpdate,
  openOutreachCallUpdate,
  OutreachCallRequest,
  messagingTaskQueue,
  ownershipEndedSignal,
  recordAnswerUpdate,
  recordVehicleEventUpdate,
  RescheduleRequest,
  rescheduleTaskUpdate,
  stateQuery,
} from './contract';

const RETRY = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;

/** The plan's own steps retry through outages for as long as it takes: nothing may be skipped. */
const { openFollowUp, closeFollowUp, markMandatory, endDelivery, recordYearsCycle } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY });

/** Sends time out sooner (the Twilio client gives up after 15 s), so a crashed worker's send is retried soon. */
const { sendMessage } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY });

/**
 * Since v6 on the messaging task queue, where the send waits for its slot in the provider's pace
 * (at most 10 s, src/messaging/pace.ts) before the Twilio client's 15 s: hence the longer timeout.
 */
const paced = () => proxyActivities<Activities>({ taskQueue: messagingTaskQueue(workflowInfo().taskQueue), startToCloseTimeout: '45 seconds', retry: RETRY });

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

/** What a call task needs from its plan: the post-delivery plan's step, or a call touch of the years. */
type CallRules = Pick<CallStep, 'checklist' | 'attempts' | 'survey' | 'mandatoryOnProblem'> & { kind: 'call'; role: CallRole };

/** What a message step sends, and until when it may. */
interface MessageSend {
  template: string;
  channel: 'sms' | 'email';
  purpose: 'service' | 'marketing';
  /** Epoch ms after which it is pointless (recorded as expired), or null. */
  notAfter: number | null;
}

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

const taskClosed = (s: StepState) => ApplicationFailure.nonRetryable(`task ${s.key} is ${s.status}`, 'TaskAlreadyClosed');
const noSuchStep = (what: string) => ApplicationFailure.nonRetryable(what, 'RecordNotFound');

/** The changes made behind `patched()` before v8, which a run started on v8 code or later takes without a marker each. */
type ChangeBeforeV8 =
  | 'mark-mandatory-opened-meanwhile' | 'wait-for-deferred-send'
  | 'escalate-any-dissatisfied-call' | 'stop-missed-timer-on-completion'
  | 'one-answer-at-a-time' | 'required-window-never-moves' | 'missed-stays-missed-on-end' | 'record-ownership-end'
  | 'plan-the-years' | 'skip-closed-steps-of-imported'
  | 'send-on-messaging-queue'
  | 'one-timer-for-the-plan';

/**
 * One workflow per vehicle ownership (entity workflow), ID `vehicle-<storeId>-<vin>`. It runs the
 * store's post-delivery plan as it was when the car was delivered, then stays for the years of
 * ownership, continuing as new before its history grows large. It is the one writer of its
 * follow-ups: every customer answer, call-back request and end of ownership comes through it.
 */
export async function vehicleLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  // In the run's first workflow task, before anything else (see VERSIONING above).
  const fromV8 = patched('v8-baseline');
  const changed = (id: ChangeBeforeV8): boolean => fromV8 || patched(id);
  const starting = input.carried ? { state: input.carried } : startingState(input);
  if ('problem' in starting) throw ApplicationFailure.nonRetryable(starting.problem, 'InvalidWorkflowInput');
  const state: LifecycleState = starting.state;
  const startedAt = Date.now();
  const yearsContext = (): YearsContext => ({
    plan: input.years ?? DEFAULT_YEARS_PLAN, model: input.vehicle?.model ?? '', deliveredOn: localDateOf(new Date(input.deliveredAt), input.timeZone),
    timeZone: input.timeZone, customerWindow: state.customerWindow,
  });
  // Runs started before v5 (and their replays) plan no years; the next continue-as-new starts them.
  const years = changed('plan-the-years') ? (state.years ??= initialYearsState(input.vehicle ?? { model: '' }, yearsContext(), new Date())) : undefined;
  /** Bumped by every DMS vehicle event, so the years wake up and plan again. */
  let yearsVersion = 0;
  /** Bumped whenever due times move or a task closes, so sleeping steps wake up and look again. */
  let scheduleVersion = 0;
  let endedAt: string | undefined;
  const findStep = (key: string) => state.steps.find((s) => s.key === key);
  const stepOf = (key: string) => findStep(key)!;
  /** A step's plan: the post-delivery plan's, or the rules of a call of the years. */
  const planStepOf = (key: string): PlanStep | CallRules => {
    const years = state.years?.openCalls[key];
    return input.plan.steps.find((s) => s.key === key) ?? { ...years!, survey: undefined, mandatoryOnProblem: undefined };
  };
  const ended = () => state.phase === 'ended';

  /** Steps with an answer or a call-back being recorded: a second one for the same step waits its turn. */
  const busySteps = new Set<string>();
  async function oneAtATime<T>(stepKey: string, fn: () => Promise<T>): Promise<T> {
    if (!changed('one-answer-at-a-time')) return fn();
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

  setHandler(recordVehicleEventUpdate, async (e: VehicleEvent) => {
    const now = new Date();
    // Its KPI rows first, from a draft: when the database is down the update fails with nothing applied.
    for (const change of applyVehicleEvent(JSON.parse(JSON.stringify(years)), yearsContext(), e, now)) await recordCycle(answering.recordYearsCycle, change);
    applyVehicleEvent(years!, yearsContext(), e, now);
    yearsVersion++;
    return { upcoming: upcoming(years!) };
  }, {
    validator: (e) => {
      if (!years) throw ApplicationFailure.nonRetryable('this ownership started before the years were planned; it plans them from its next yearly run', 'YearsNotPlanned');
      if (ended()) throw ApplicationFailure.nonRetryable('the ownership has ended', 'OwnershipEnded');
      const problem = vehicleEventProblem(e);
      if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidRequest');
    },
  });

  /** Outreach calls opened by openOutreachCallUpdate, watched in the background as the years' calls are. */
  const outreachCalls: Promise<void>[] = [];

  setHandler(openOutreachCallUpdate, openOutreachCall, {
    validator: ({ cycle, callWindowDays }) => {
      if (!years) throw ApplicationFailure.nonRetryable('this ownership started before the years were planned; it plans them from its next yearly run', 'YearsNotPlanned');
      if (ended()) throw ApplicationFailure.nonRetryable('the ownership has ended', 'OwnershipEnded');
      if (!/^year-\d{1,2}$/.test(cycle)) throw ApplicationFailure.nonRetryable('cycle must be year-<n>', 'InvalidRequest');
      if (!(Number.isInteger(callWindowDays) && callWindowDays >= 1 && callWindowDays <= 60)) throw ApplicationFailure.nonRetryable('callWindowDays must be 1-60', 'InvalidRequest');
    },
  });

  /**
   * The consultant's replacement outreach call (I-1), open from now for the store's window. The
   * task row is written before the step exists here, so a database outage fails the update with
   * nothing changed; the same cycle again answers the call already open.
   */
  function openOutreachCall({ cycle, callWindowDays }: OutreachCallRequest) {
    const key = outreachStepKey(cycle);
    return oneAtATime(key, async () => {
      const open = findStep(key);
      if (open?.followUpId) return { stepKey: key, followUpId: open.followUpId };
      const now = new Date();
      const { dueStart, dueEnd } = outreachWindow(now, callWindowDays, localDateOf(now, input.timeZone), state.customerWindow, input.timeZone, {
        todayAlwaysCounts: !patched('outreach-days-with-an-open-window'),
      });
      const touch: YearsCallTouch = { ...OUTREACH_CALL, checklist: [...OUTREACH_CALL.checklist], attempts: { ...OUTREACH_CALL.attempts }, offsetDays: 0, windowDays: callWindowDays };
      const { followUpId } = await answering.openFollowUp({
        deliveryId: input.deliveryId, stepKey: key, role: touch.role, checklist: touch.checklist, survey: false, mandatory: false, maxAttempts: touch.attempts.max, dueStart, dueEnd,
      });
      const s: StepState = { key, kind: 'call', role: touch.role, dueStart, dueEnd, status: 'open', attempts: 0, mandatory: false, followUpId };
      state.steps.push(s);
      years!.openCalls[key] = touch;
      outreachCalls.push(runYearsCall(years!, s));
      return { stepKey: key, followUpId };
    });
  }

  setHandler(rescheduleTaskUpdate, reschedule, {
    validator: ({ stepKey, requestedAt }) => {
      const s = findStep(stepKey);
      if (!s || s.kind !== 'call') throw noSuchStep(`no call step ${stepKey}`);
      if (!openOrBeingOpened(s)) throw taskClosed(s);
      const problem = requestedTimeProblem(s, new Date(requestedAt), new Date());
      if (problem) throw ApplicationFailure.nonRetryable(`requestedAt ${problem}`, 'InvalidRequest');
    },
  });

  /**
   * A due call whose task row is being written: staff can see the task (the row is committed)
   * a moment before this workflow hears that it is open, so an answer in that moment waits for it.
   */
  const beingOpened = (s: StepState) => s.status === 'scheduled' && Date.parse(s.dueStart) <= Date.now();
  const openOrBeingOpened = (s: StepState) => s.status === 'open' || beingOpened(s);
  /**
   * Waits out `beingOpened`; then the step is open, or whatever closed it meanwhile. Awaited only
   * when there is something to wait for: an extra await would reorder the commands of histories
   * recorded before this existed.
   */
  const untilOpened = (s: StepState) => condition(() => s.status !== 'scheduled');

  /** Refuses, before it is accepted into the history, an answer the workflow cannot record. */
  function validateAnswer(a: CustomerAnswer): void {
    if (a.kind === 'reply') return;
    const s = findStep(a.stepKey);
    if (!s || s.kind !== 'call') throw noSuchStep(`no call step ${a.stepKey}`);
    if (a.kind === 'call' && !openOrBeingOpened(s)) throw taskClosed(s);
    const planned = planStepOf(a.stepKey);
    if (a.kind === 'score' && (planned.kind !== 'call' || !planned.survey || !(s.followUpId || beingOpened(s)))) throw noSuchStep(`no survey under way at step ${a.stepKey}`);
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
      if (beingOpened(s)) await untilOpened(s);
      if (!s.followUpId) throw noSuchStep(`no survey under way at step ${a.stepKey}`);
      const { problem } = await answering.recordSurveyScore({ followUpId: s.followUpId, csat: a.csat, channel: a.channel });
      const caseId = problem ? await escalate(s, 'dissatisfied', `${a.channel} survey answer ${a.csat}/5`, a.inboundMessageId) : undefined;
      return { status: s.status, attempts: s.attempts, nextAttemptAt: s.nextAttemptAt ?? null, problem, caseId };
    });
  }

  async function recordCall({ stepKey, outcome, answeredAt, staffId }: CallAnswer): Promise<AnswerResult> {
    const s = stepOf(stepKey);
    if (beingOpened(s)) await untilOpened(s);
    // A second answer that waited its turn finds the task the first one closed.
    if (s.status !== 'open') throw taskClosed(s);
    const step = planStepOf(stepKey) as CallRules;
    const result = await answering.recordOutcome({
      followUpId: s.followUpId!, outcome, completedAt: answeredAt, retryAfterMinutes: step.attempts.retryAfterMinutes,
      attemptNumber: s.attempts + 1, completedById: staffId,
    });
    s.status = result.status as StepStatus;
    s.attempts = result.attempts;
    s.nextAttemptAt = result.nextAttemptAt ?? undefined;
    // A closed task needs no missed-call timer: wake its step so the plan can finish early.
    if (CLOSED_STEP_STATUSES.has(s.status) && changed('stop-missed-timer-on-completion')) scheduleVersion++;
    let caseId: string | undefined;
    // DOMAIN.md section 5: any dissatisfied answer or complaint is escalated, not only the survey's.
    if (result.problem && (step.survey || changed('escalate-any-dissatisfied-call'))) {
      caseId = await escalate(s, outcome.complaint ? 'complaint' : 'dissatisfied', outcome.complaint);
    }
    return { ...result, status: s.status, caseId };
  }

  function reschedule({ stepKey, requestedAt, staffId }: RescheduleRequest) {
    return oneAtATime(stepKey, async () => {
      const s = stepOf(stepKey);
      if (beingOpened(s)) await untilOpened(s);
      if (s.status !== 'open') throw taskClosed(s);
      const moved = await answering.rescheduleFollowUp({ followUpId: s.followUpId!, requestedAt, staffId: staffId ?? null });
      if (changed('required-window-never-moves')) {
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

  async function runMessage(s: StepState, { template, channel, purpose, notAfter }: MessageSend): Promise<void> {
    if (!(await sleepUntil(() => Date.parse(s.dueStart)))) return void (s.status = 'cancelled');
    // A delivery that reached us late: a message past its "not after" is recorded as expired, never sent.
    if (notAfter !== null && Date.now() > notAfter) return void (s.status = 'expired');
    try {
      const send = changed('send-on-messaging-queue') ? paced().sendMessage : sendMessage;
      for (;;) {
        const sent = await send({
          idempotencyKey: `${workflowInfo().workflowId}:${input.deliveryId}:${s.key}`,
          deliveryId: input.deliveryId, templateKey: template, channel, purpose,
          ...(notAfter !== null && { notAfter: new Date(notAfter).toISOString() }),
        });
        s.messageId = sent.messageId ?? undefined;
        // Quiet hours or the frequency cap held it back: a durable timer, then the same send again.
        if (sent.status === 'deferred' && sent.notBefore && changed('wait-for-deferred-send')) {
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

  async function runCall(s: StepState, step: CallRules): Promise<void> {
    if (!(await sleepUntil(() => Date.parse(s.dueStart)))) return void (s.status = 'cancelled');
    await openCall(s, step);
    await watchCall(s);
  }

  async function openCall(s: StepState, step: CallRules): Promise<void> {
    if (step.mandatoryOnProblem && state.problemFound) s.mandatory = true;
    const mandatoryWhenOpened = s.mandatory;
    const opened = await openFollowUp({
      deliveryId: input.deliveryId, stepKey: s.key, role: step.role, checklist: step.checklist, survey: step.survey ?? false,
      mandatory: mandatoryWhenOpened, maxAttempts: step.attempts.max, dueStart: s.dueStart, dueEnd: s.dueEnd,
    });
    s.followUpId = opened.followUpId;
    s.status = 'open';
    // The survey found a problem while the task was being written: escalate() saw no task to mark.
    if (s.mandatory && !mandatoryWhenOpened && changed('mark-mandatory-opened-meanwhile')) await markMandatory({ followUpId: s.followUpId });
  }

  /** Waits for an open call's answer; closes it as missed (or cancelled, when the ownership ended first) if none comes. */
  async function watchCall(s: StepState): Promise<void> {
    await sleepUntil(() => (s.status === 'open' ? missedAt(s) : 0));
    if (s.status !== 'open') return;
    // A call whose required window had closed stays missed when the ownership ends; only one still inside it is cancelled.
    const closing = changed('missed-stays-missed-on-end') ? unfinishedCallStatus(s, ended(), new Date()) : ended() ? 'cancelled' : 'missed';
    s.status = (await closeFollowUp({ followUpId: s.followUpId!, status: closing })) as StepStatus;
  }

  async function runPostDelivery(): Promise<void> {
    if (state.phase !== 'post-delivery') return;
    // An imported vehicle's steps long past were never owed: skipped, not missed nor expired.
    const skipped = (s: StepState) => input.imported && Date.parse(s.dueEnd) < startedAt && changed('skip-closed-steps-of-imported');
    const run = (s: StepState) => {
      const step = planStepOf(s.key);
      if (step.kind === 'call') return runCall(s, step);
      return runMessage(s, { template: step.template, channel: step.channel, purpose: 'service', notAfter: messageNotAfter(step, input.deliveredAt) });
    };
    if (changed('one-timer-for-the-plan')) {
      await runWhenDue(state.steps.filter((s) => !skipped(s) || void (s.status = 'skipped')), run);
    } else {
      // Before v7 each step slept on a timer of its own.
      await Promise.all(state.steps.map((s) => (skipped(s) ? void (s.status = 'skipped') : run(s))));
    }
    if (!ended()) state.phase = 'ownership';
  }

  /**
   * Starts each step once it is due, or at once when the ownership ends (it is then cancelled),
   * sleeping on one timer, the next step's: a new workflow's first task sets one timer for the
   * plan instead of one per step. Due times that move (a new contact window) wake it, as they
   * woke each step's own timer before.
   */
  async function runWhenDue(steps: StepState[], run: (s: StepState) => Promise<void>): Promise<void> {
    const running: Promise<void>[] = [];
    let waiting = steps;
    for (;;) {
      const due = waiting.filter((s) => ended() || Date.parse(s.dueStart) <= Date.now());
      running.push(...due.map(run));
      waiting = waiting.filter((s) => !due.includes(s));
      if (waiting.length === 0) break;
      const seen = scheduleVersion;
      const next = Math.min(...waiting.map((s) => Date.parse(s.dueStart)));
      await condition(() => ended() || scheduleVersion !== seen, next - Date.now());
    }
    await Promise.all(running);
  }

  /** Records a cycle's change on its KPI row (reminder conversion, renewal rate). */
  function recordCycle(record: typeof recordYearsCycle, { cycle, change, at }: CycleChange) {
    return record({ deliveryId: input.deliveryId, key: cycle.key, kind: cycle.kind, dueOn: cycle.dueOn, change, at });
  }

  /** A touch of the years: a message sent, or a call task opened, in the background. */
  function takeTouch(years: YearsState, due: DueTouch, background: Promise<void>[]): void {
    const { touch, cycle } = due;
    const s: StepState = {
      key: due.key, kind: touch.kind, role: touch.kind === 'call' ? touch.role : 'system', dueStart: due.at.toISOString(), dueEnd: due.until.toISOString(),
      status: 'scheduled', attempts: 0, mandatory: false,
    };
    const disposition = touchDisposition(due, years, new Date());
    cycle.taken.push(due.index);
    state.steps.push(s);
    if (disposition === 'skip') return void (s.status = 'skipped');
    if (touch.kind === 'call') {
      years.openCalls[s.key] = touch;
      return void background.push(runYearsCall(years, s));
    }
    const purpose = MARKETING_KINDS.has(cycle.kind) ? 'marketing' : 'service';
    background.push((async () => {
      await runMessage(s, { template: touch.template, channel: touch.channel, purpose, notAfter: due.until.getTime() });
      if (s.status !== 'sent' || cycle.remindedAt || purpose === 'marketing') return;
      cycle.remindedAt = new Date().toISOString();
      await recordCycle(recordYearsCycle, { cycle, change: 'reminded', at: cycle.remindedAt });
    })());
  }

  /** A call of the years: opened (again, idempotently, after continue-as-new) and watched until answered or missed. */
  async function runYearsCall(years: YearsState, s: StepState): Promise<void> {
    if (s.status === 'scheduled') await openCall(s, years.openCalls[s.key]);
    await watchCall(s);
    delete years.openCalls[s.key];
  }

  /**
   * The years after delivery: sleeps until the next touch, the end of a cycle or a DMS event, and
   * takes what is due. Returns when the ownership ends (once its open calls are closed) or when
   * it is time to continue as new (open calls are carried, their timers resumed in the next run).
   */
  async function runTheYears(): Promise<void> {
    const years = state.years!;
    const ctx = yearsContext();
    const calls: Promise<void>[] = [];
    const sends: Promise<void>[] = [];
    for (const s of state.steps) if (years.openCalls[s.key]) calls.push(runYearsCall(years, s));
    for (;;) {
      if (ended() || Date.now() - startedAt >= YEAR_MS || workflowInfo().continueAsNewSuggested) break;
      for (const change of rollCycles(years, ctx, new Date())) await recordCycle(recordYearsCycle, change);
      const due = nextDueTouch(years, ctx);
      if (due && due.at.getTime() <= Date.now()) {
        takeTouch(years, due, due.touch.kind === 'call' ? calls : sends);
        continue;
      }
      const wakeAt = Math.min(due?.at.getTime() ?? Infinity, nextRollAt(years, ctx)?.getTime() ?? Infinity, startedAt + YEAR_MS);
      const seen = yearsVersion;
      await condition(() => ended() || yearsVersion !== seen || workflowInfo().continueAsNewSuggested, Math.max(1, wakeAt - Date.now()));
    }
    // A send under way (or held by quiet hours) finishes in this run; open calls finish here only when the ownership ended.
    await Promise.all(ended() ? [...sends, ...calls, ...outreachCalls] : sends);
  }

  /** What the next run needs: the post-delivery steps, the years' state and their open calls; steps done are in the database. */
  function carriedState(y: YearsState): LifecycleState {
    return { ...state, steps: state.steps.filter((s) => input.plan.steps.some((p) => p.key === s.key) || y.openCalls[s.key]) };
  }

  if (years) {
    await Promise.all([runPostDelivery(), runTheYears()]);
  } else {
    await runPostDelivery();
    // Before v5: nothing after the post-delivery plan but a yearly continue-as-new.
    if (!ended()) await condition(() => ended() || workflowInfo().continueAsNewSuggested, '365 days');
  }
  // Continuing as new at least yearly keeps each run's history short however long the car is kept.
  await condition(allHandlersFinished);
  if (!ended()) await continueAsNew<typeof vehicleLifecycle>({ ...input, carried: years ? carriedState(years) : state });
  if (changed('record-ownership-end')) {
    await endDelivery({ deliveryId: input.deliveryId, reason: state.endedReason ?? 'unknown', endedAt: endedAt ?? new Date().toISOString() });
  }
  return state;
}
