/**
 * What the vehicle lifecycle workflow answers: its query, updates and signals, with their types.
 * The API, the webhooks and the tests import these without loading the workflow's code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ContactWindow } from '../domain/local-time';
import type { LifecycleState } from '../domain/lifecycle';
import type { CaseActor, CaseState, ConfirmationChannel, RootCause } from '../domain/cases';
import type { CallOutcome } from '../domain/outcome';
import type { VehicleEvent, YearsKind } from '../domain/years';

export type { LifecycleInput, LifecycleState, StepState, StepStatus } from '../domain/lifecycle';
export type { VehicleEvent, VehicleFacts, YearsPlan } from '../domain/years';

/**
 * The task queue of customer messages beside a workflow task queue: the workers run both, and
 * workflows started on `taskQueue` send there, so sends waiting for the provider's pace hold only
 * messaging slots, never the slots the plan's other activities need.
 */
export const messagingTaskQueue = (taskQueue: string) => `${taskQueue}-messaging`;

/** A call's outcome, recorded by the staff member who made it (through the task API). */
export interface CallAnswer {
  kind: 'call';
  stepKey: string;
  outcome: CallOutcome;
  /** When the outcome was recorded (the API's clock); the call's timeliness reads it. */
  answeredAt: string;
  /** The acting staff member, when the request named one. */
  staffId: string | null;
}

/** A survey score (CSAT 1-5) the customer sent in writing, answering the survey step `stepKey`. */
export interface SurveyScore {
  kind: 'score';
  stepKey: string;
  channel: 'sms' | 'email';
  csat: number;
  answeredAt: string;
  inboundMessageId: string;
}

/** The customer wrote back in their own words: CR staff follow it up as a case. */
export interface CustomerReply {
  kind: 'reply';
  channel: 'sms' | 'email';
  answeredAt: string;
  inboundMessageId: string;
}

/** Every answer from a customer reaches the workflow through this one update. */
export type CustomerAnswer = CallAnswer | SurveyScore | CustomerReply;

export interface AnswerResult {
  /** The answered step's status after the answer ("open" while an unreached call has tries left); null for a reply. */
  status: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  problem: boolean;
  caseId?: string;
}

export interface RescheduleRequest {
  stepKey: string;
  /** The time the customer asked to be called at. */
  requestedAt: string;
  /** The acting staff member, when the request named one (the audit log's actor). */
  staffId?: string | null;
}

export interface RescheduleResult {
  requestedAt: string;
  /** When the call is now shown and reminded: the requested time, or when the customer's window next opens. */
  nextAttemptAt: string;
}

export type OwnershipEndReason = 'sold' | 'transferred' | 'scrapped' | 'customer_request';

export const stateQuery = defineQuery<LifecycleState>('state');
export const recordAnswerUpdate = defineUpdate<AnswerResult, [CustomerAnswer]>('recordAnswer');
export const rescheduleTaskUpdate = defineUpdate<RescheduleResult, [RescheduleRequest]>('rescheduleTask');
export const contactWindowChangedSignal = defineSignal<[ContactWindow]>('contactWindowChanged');
/** `reason` is an OwnershipEndReason since v4; earlier histories carry free text. */
export const ownershipEndedSignal = defineSignal<[{ reason: string; endedAt?: string }]>('ownershipEnded');
/** An inbound SMS from the customer, already classified and recorded by the webhook. */
export const customerRepliedSignal = defineSignal<[{ kind: 'opt-out' | 'opt-in' | 'help' | 'csat' | 'free-text'; messageId: string }]>('customerReplied');
/** Consent changed for a channel and purpose (opt-out, opt-in); sends check consent again anyway. */
export const consentChangedSignal = defineSignal<[{ channel: 'sms' | 'email'; purpose: 'service' | 'marketing'; granted: boolean }]>('consentChanged');

/** Each kind's next due date after a DMS vehicle event was applied. */
export interface VehicleEventResult {
  upcoming: { kind: YearsKind; key: string; dueOn: string; bookedFor?: string }[];
}

/**
 * v5: what the DMS reports about the vehicle (a booking, a service visit, an odometer reading, a
 * renewed policy, a passed inspection, a renewed licence). The workflow re-plans the years from it;
 * the update ID is the request's Idempotency-Key. A sale, transfer or scrapping is ownershipEndedSignal.
 */
export const recordVehicleEventUpdate = defineUpdate<VehicleEventResult, [VehicleEvent]>('recordVehicleEvent');

/** v6: CR passed a replacement candidate (I-1): the vehicle's workflow opens its consultant's outreach call. */
export interface OutreachCallRequest {
  candidateId: string;
  /** The candidate's replacement cycle ("year-4"): one outreach call per cycle. */
  cycle: string;
  /** Days the consultant has for the call (the store's criteria). */
  callWindowDays: number;
}

export interface OutreachCallResult {
  stepKey: string;
  followUpId: string;
}

/** Opens the outreach call (idempotent per cycle); its outcome comes through recordAnswerUpdate like any call's. */
export const openOutreachCallUpdate = defineUpdate<OutreachCallResult, [OutreachCallRequest]>('openOutreachCall');

/**
 * The update the first three workflow versions took for call outcomes. Its handler stays for the
 * histories that carry it; new callers send recordAnswerUpdate.
 */
export const legacyCompleteTaskUpdate = defineUpdate<AnswerResult, [{ stepKey: string; outcome: CallOutcome }]>('completeTask');

// ---- Escalation cases: one workflow per case, ID `case-<caseId>` (src/workflows/escalation-case.ts) ----

export type { CaseActor, CaseState } from '../domain/cases';

/** A case workflow starts with IDs only; `carried` is its state when it continues as new. */
export interface CaseInput {
  caseId: string;
  storeId: string;
  carried?: CaseState;
}

export const caseWorkflowId = (caseId: string) => `case-${caseId}`;

export interface AcknowledgeCaseRequest { actor: CaseActor; note?: string }
export interface CaseNoteRequest { actor: CaseActor; note: string }
export interface ReassignCaseRequest { actor: CaseActor; assigneeId: string; note?: string }
export interface ResolveCaseRequest {
  actor: CaseActor;
  rootCause: RootCause;
  /** How and when the customer confirmed the problem is solved. */
  confirmation: { channel: ConfirmationChannel; at: string };
  resolution: string;
}
export interface ReopenCaseRequest { actor: CaseActor; reason: string }

export const caseStateQuery = defineQuery<CaseState>('caseState');
export const acknowledgeCaseUpdate = defineUpdate<CaseState, [AcknowledgeCaseRequest]>('acknowledgeCase');
export const addCaseNoteUpdate = defineUpdate<CaseState, [CaseNoteRequest]>('addCaseNote');
export const reassignCaseUpdate = defineUpdate<CaseState, [ReassignCaseRequest]>('reassignCase');
export const resolveCaseUpdate = defineUpdate<CaseState, [ResolveCaseRequest]>('resolveCase');
export const reopenCaseUpdate = defineUpdate<CaseState, [ReopenCaseRequest]>('reopenCase');

/** The import job workflow (`import-<jobId>`): the job's rows and progress are in the database. */
export interface ImportJobInput {
  jobId: string;
  /** Set by continue-as-new once the file has been read. */
  read?: boolean;
}

export const importWorkflowId = (jobId: string) => `import-${jobId}`;

// ---- Store digest: one Temporal Schedule per store starts it each local morning (src/workflows/store-digest.ts) ----

export interface StoreDigestWorkflowInput {
  storeId: string;
  /** the morning to report as (ISO instant); absent, as the schedule starts it: the run's start. Sends each day's digest once whenever given. */
  asOf?: string;
}

export const STORE_DIGEST_WORKFLOW = 'storeDigest';
/** The store's schedule, created or updated with the store (src/services/digest-schedules.ts). */
export const digestScheduleId = (storeId: string) => `store-digest-${storeId}`;
