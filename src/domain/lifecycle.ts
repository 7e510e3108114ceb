/**
 * The state of one vehicle ownership's follow-up, and the pure rules that change it. The workflow
 * (src/workflows/vehicle-lifecycle.ts) only composes these with timers and activities; the API
 * answers a new delivery with `initialLifecycleState`. Imported by the workflow bundle: no zod.
 */
import type { ContactWindow } from './local-time';
import type { MessageStep, PlanStep } from './plan';
import { schedulePlan } from './schedule';
import { type VehicleFacts, vehicleFactsProblem, type YearsCallRole, type YearsPlan, type YearsState } from './years';

export interface LifecycleInput {
  deliveryId: string;
  storeId: string;
  timeZone: string;
  deliveredAt: string;
  customerWindow: ContactWindow;
  plan: { id: string; version: number; steps: PlanStep[] };
  /** v5: what the years are planned from (model, odometer, policy and licence dates, birthday). */
  vehicle?: VehicleFacts;
  /** v5: the store's plan for the years; DEFAULT_YEARS_PLAN when left out. */
  years?: YearsPlan;
  /**
   * v5: a vehicle of the existing base, delivered long before it reached Huifang: post-delivery
   * steps whose required window closed before the start are skipped, not opened as missed.
   */
  imported?: boolean;
  /** Set only by continue-as-new. */
  carried?: LifecycleState;
}

export type StepStatus =
  | 'scheduled' | 'open' | 'sent' | 'skipped' | 'suppressed' | 'undeliverable' | 'expired'
  | 'done_on_time' | 'done_late' | 'missed' | 'failed' | 'cancelled';

export interface StepState {
  key: string;
  kind: 'message' | 'call';
  role: PlanStep['role'] | YearsCallRole;
  /** The plan's required window: fixed once the step is open, whatever the customer asks for later. */
  dueStart: string;
  dueEnd: string;
  status: StepStatus;
  followUpId?: string;
  messageId?: string;
  attempts: number;
  /** When to call next: after an unreached attempt, or the time the customer asked for. */
  nextAttemptAt?: string;
  /** The time the customer asked to be called at (shown and reminded; the required window stays). */
  requestedAt?: string;
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
  /** v5: the years after delivery (their steps join `steps`; closed ones are dropped at continue-as-new). */
  years?: YearsState;
}

/** How long an unfinished call stays open after its window closes before it counts as missed. */
export const MISSED_AFTER_MS = 2 * 24 * 60 * 60 * 1000;

/** Statuses after which a step never changes again. */
export const CLOSED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['done_on_time', 'done_late', 'missed', 'failed', 'cancelled', 'expired']);

/** The instants a lifecycle can be about (the API refuses anything else; see dates.ts). */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
const LATEST_MS = Date.UTC(2101, 0, 1);

/**
 * The state a new lifecycle starts in, or why the workflow could never run this input. The API
 * refuses such input with a 400; this is the workflow's own guard, so that a bad start fails the
 * workflow once, visibly, instead of failing its task on every retry. The plan is scheduled once
 * for both (it is most of a workflow's first task).
 */
export function startingState(input: LifecycleInput): { problem: string } | { state: LifecycleState } {
  const delivered = Date.parse(input.deliveredAt);
  if (!(delivered >= EARLIEST_MS && delivered < LATEST_MS)) return { problem: `deliveredAt ${input.deliveredAt} is not a date between 2000 and 2100` };
  if (input.plan.steps.length === 0) return { problem: 'the plan has no steps' };
  const facts = input.vehicle && vehicleFactsProblem(input.vehicle);
  if (facts) return { problem: facts };
  const state = initialLifecycleState(input);
  const bad = state.steps.find((s) => !(Date.parse(s.dueEnd) < LATEST_MS) || !(Date.parse(s.dueStart) >= EARLIEST_MS));
  return bad ? { problem: `step ${bad.key} falls outside 2000-2100` } : { state };
}

/** The state a lifecycle starts in: its plan scheduled, nothing done. */
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

/**
 * A new contact window from the customer: steps not yet opened are scheduled again inside it.
 * Open and closed steps keep their required windows (a window once owed is what timeliness reads).
 * Changes `state` in place: the workflow's sleeping steps hold its step objects.
 */
export function applyContactWindow(state: LifecycleState, input: LifecycleInput, window: ContactWindow): void {
  const fresh = schedulePlan({ plan: { steps: input.plan.steps }, deliveredAt: new Date(input.deliveredAt), timeZone: input.timeZone, customerWindow: window });
  state.customerWindow = window;
  for (const s of state.steps) {
    if (s.status !== 'scheduled') continue;
    const next = fresh.find((f) => f.key === s.key)!;
    s.dueStart = next.dueStart.toISOString();
    s.dueEnd = next.dueEnd.toISOString();
  }
}

/**
 * How an open call closes when nobody completed it: missed once its required window has closed,
 * also when the ownership ended since; cancelled only when the ownership ended while the call
 * was still inside its window (it was never late, and is owed no more).
 */
export function unfinishedCallStatus(step: Pick<StepState, 'dueEnd'>, ownershipEnded: boolean, now: Date): 'missed' | 'cancelled' {
  return ownershipEnded && now.getTime() <= Date.parse(step.dueEnd) ? 'cancelled' : 'missed';
}

/** When a call task stops waiting for someone to complete it: two days after its required window. */
export function missedAt(step: Pick<StepState, 'dueEnd'>): number {
  return Date.parse(step.dueEnd) + MISSED_AFTER_MS;
}

/**
 * The instant after which a message step is pointless (a 2-hour "home safely?" SMS a week later),
 * or null when the plan gives it no limit.
 */
export function messageNotAfter(step: Pick<MessageStep, 'notAfterMinutes'>, deliveredAt: string): number | null {
  return step.notAfterMinutes === undefined ? null : Date.parse(deliveredAt) + step.notAfterMinutes * 60_000;
}

/** Whether a message may still go out at `at`: before its "not after", if it has one. */
export function messageStillTimely(step: Pick<MessageStep, 'notAfterMinutes'>, deliveredAt: string, at: number): boolean {
  const limit = messageNotAfter(step, deliveredAt);
  return limit === null || at <= limit;
}

/**
 * Whether a customer's requested call time is one the task can honour: not in the past (a minute
 * of clock skew allowed) and before the task is closed as missed.
 */
export function requestedTimeProblem(step: Pick<StepState, 'dueEnd'>, requestedAt: Date, now: Date): string | null {
  if (requestedAt.getTime() < now.getTime() - 60_000) return 'must not be in the past';
  if (requestedAt.getTime() > missedAt(step)) return `must be before the task is closed as missed (${new Date(missedAt(step)).toISOString()})`;
  return null;
}
