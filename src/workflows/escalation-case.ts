/**
 * VERSIONING: as for the lifecycle workflow, a change to what this file does goes behind
 * `patched('<change-id>')`; test/workflows/replay.test.ts replays the saved `escalation-case-*`
 * histories on it.
 */
import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CaseEventInput } from '../activities/cases';
import { CaseAction, caseActionProblem, CaseActor, CaseState, nextLevel, REOPEN_PERIOD_MS, runningDeadline, TOP_LEVEL } from '../domain/cases';
import {
  AcknowledgeCaseRequest,
  acknowledgeCaseUpdate,
  addCaseNoteUpdate,
  CaseInput,
  CaseNoteRequest,
  caseStateQuery,
  ReassignCaseRequest,
  reassignCaseUpdate,
  ReopenCaseRequest,
  reopenCaseUpdate,
  ResolveCaseRequest,
  resolveCaseUpdate,
} from './contract';

const RETRY = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;

/** The case's own steps (its opening, a passed deadline, closing) retry through outages until done. */
const steps = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY });

/**
 * A passed deadline's climb runs inside the workflow task that the timer woke (a local activity):
 * a morning of deadlines costs the server and the worker one task round trip fewer per case.
 */
const climbing = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY });

/** Behind an update a caller waits: a few quick tries, then the update fails (503) and nothing changed. */
const answering = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 4 },
});

/** Telling the owner: retried for about a day, then given up (the case is on their list anyway). */
const notifying = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { ...RETRY, maximumAttempts: 150 } });

/**
 * One workflow per escalation case, ID `case-<caseId>`, the one writer of its row and timeline.
 * It sets the case's working-hour deadlines, climbs the ladder (CR specialist, sales manager,
 * general manager) when one passes, tells each new owner, and takes the desk's actions as updates,
 * one at a time. A resolved case can be reopened for REOPEN_PERIOD_MS; then it is closed for good.
 */
export async function escalationCase(input: CaseInput): Promise<CaseState> {
  // Zero-padded, so a case's timeline sorts by its key.
  const key = (n: number) => `${input.caseId}:${String(n).padStart(6, '0')}`;
  const state: CaseState = input.carried ?? {
    ...(await steps.beginCase({ caseId: input.caseId, eventKey: key(0) })),
    passed: { respond: false, resolve: false },
    events: 1,
  };
  /** Bumped by every change, so the main loop looks at the deadlines again. */
  let version = 0;
  let busy = false;

  async function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    // Checked again after every wake-up: two waiters may wake together, and only one may go on.
    while (busy) await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
      version++;
    }
  }

  const now = () => new Date().toISOString();
  const refuse = (action: CaseAction, assigneeId?: string) => {
    const problem = caseActionProblem(state, action, assigneeId);
    if (problem) throw ApplicationFailure.nonRetryable(problem.message, problem.type);
  };
  const event = (kind: CaseEventInput['kind'], actor: CaseActor, rest: Partial<CaseEventInput> = {}): CaseEventInput =>
    ({ caseId: state.caseId, eventKey: key(state.events++), kind, actor, at: now(), ...rest });
  /** Owners to tell, sent by the main loop: an update or a climb never waits on the mail server. */
  const notices: { staffId: string; idempotencyKey: string }[] = [];
  const notify = (staffId: string | null, eventKey: string) => {
    if (staffId) notices.push({ staffId, idempotencyKey: `${eventKey}:notify` });
  };

  /** An action of the desk: checked when it arrives and again when its turn comes. */
  function action<R extends { actor: CaseActor }>(name: CaseAction, run: (req: R) => Promise<void>, assigneeOf?: (req: R) => string) {
    return {
      handler: (req: R) => oneAtATime(async () => {
        refuse(name, assigneeOf?.(req));
        await run(req);
        return { ...state };
      }),
      validator: (req: R) => refuse(name, assigneeOf?.(req)),
    };
  }

  setHandler(caseStateQuery, () => state);

  const acknowledge = action('acknowledge', async ({ actor, note }: AcknowledgeCaseRequest) => {
    const at = now();
    await answering.recordCaseEvent(event('acknowledged', actor, { detail: note, change: { acknowledgedAt: at, dueAt: state.resolveBy } }));
    state.acknowledgedAt = at;
  });
  setHandler(acknowledgeCaseUpdate, acknowledge.handler, { validator: acknowledge.validator });

  const addNote = action('note', async ({ actor, note }: CaseNoteRequest) => {
    await answering.recordCaseEvent(event('note', actor, { detail: note }));
  });
  setHandler(addCaseNoteUpdate, addNote.handler, { validator: addNote.validator });

  const reassign = action('reassign', async ({ actor, assigneeId, note }: ReassignCaseRequest) => {
    const e = event('reassigned', actor, { detail: note });
    await answering.assignCase({ ...e, assigneeId });
    state.assigneeId = assigneeId;
    notify(assigneeId, e.eventKey);
  }, (req) => req.assigneeId);
  setHandler(reassignCaseUpdate, reassign.handler, { validator: reassign.validator });

  const resolve = action('resolve', async ({ actor, rootCause, confirmation, resolution }: ResolveCaseRequest) => {
    const at = now();
    await answering.recordCaseEvent(event('resolved', actor, {
      detail: resolution,
      change: { status: 'resolved', resolvedAt: at, dueAt: null, rootCause, resolution, confirmedVia: confirmation.channel, confirmedAt: confirmation.at },
    }));
    Object.assign(state, { status: 'resolved', resolvedAt: at });
  });
  setHandler(resolveCaseUpdate, resolve.handler, { validator: resolve.validator });

  const reopen = action('reopen', async ({ actor, reason }: ReopenCaseRequest) => {
    const deadlines = await answering.caseDeadlines({ storeId: state.storeId, from: now() });
    const e = event('reopened', actor, {
      detail: reason,
      change: {
        status: 'open', ...deadlines, dueAt: deadlines.respondBy, acknowledgedAt: null, resolvedAt: null,
        rootCause: null, resolution: null, confirmedVia: null, confirmedAt: null,
      },
    });
    await answering.recordCaseEvent(e);
    Object.assign(state, { status: 'open', ...deadlines, acknowledgedAt: null, resolvedAt: null, passed: { respond: false, resolve: false } });
    notify(state.assigneeId, e.eventKey);
  });
  setHandler(reopenCaseUpdate, reopen.handler, { validator: reopen.validator });

  /** A deadline passed unmet: one rung up, to that rung's holder, who is told; at the top it is recorded as overdue. */
  async function deadlinePassed(kind: 'respond' | 'resolve', at: string): Promise<void> {
    const still = runningDeadline(state);
    if (still?.kind !== kind || still.at !== at) return; // answered while the deadline's turn came
    state.passed[kind] = true;
    const detail = kind === 'respond' ? `no first response by ${at}` : `not resolved by ${at}`;
    if (state.level === TOP_LEVEL) {
      await steps.recordCaseEvent(event('overdue', 'system', { detail }));
      return;
    }
    const level = nextLevel(state.level);
    const e = event('escalated', 'system', { detail });
    const { assigneeId } = await (patched('escalate-in-workflow-task') ? climbing : steps).escalateCase({ ...e, level });
    Object.assign(state, { level, assigneeId });
    notify(assigneeId, e.eventKey);
  }

  if (!input.carried) notify(state.assigneeId, key(0));

  while (state.status !== 'closed') {
    // Told in order, outside the lock: the desk's actions go on meanwhile.
    for (let n = notices.shift(); n; n = notices.shift()) await notifying.notifyCaseOwner({ caseId: state.caseId, ...n });
    const seen = version;
    const deadline = runningDeadline(state);
    const until = deadline ? Date.parse(deadline.at) : state.status === 'resolved' ? Date.parse(state.resolvedAt!) + REOPEN_PERIOD_MS : null;
    const ms = until === null ? null : until - Date.now();
    const changed = () => version !== seen || notices.length > 0;
    const woken = ms === null ? await condition(changed) : ms > 0 && (await condition(changed, ms));
    if (!woken) {
      if (deadline) await oneAtATime(() => deadlinePassed(deadline.kind, deadline.at));
      else await oneAtATime(async () => {
        if (state.status !== 'resolved' || Date.now() < Date.parse(state.resolvedAt!) + REOPEN_PERIOD_MS) return;
        await steps.recordCaseEvent(event('closed', 'system', { detail: 'resolved and not reopened', change: { status: 'closed', closedAt: now() } }));
        state.status = 'closed';
      });
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => allHandlersFinished() && !busy);
      // Owners still to tell are told first (the next round), so a new run never drops them.
      if (notices.length === 0) await continueAsNew<typeof escalationCase>({ ...input, carried: state });
    }
  }
  await condition(allHandlersFinished);
  for (let n = notices.shift(); n; n = notices.shift()) await notifying.notifyCaseOwner({ caseId: state.caseId, ...n });
  return state;
}
