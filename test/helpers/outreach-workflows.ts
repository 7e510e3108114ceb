import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, RetryState } from '@temporalio/common';
import { createFollowUpActivities } from '../../src/activities/follow-ups';
import type { Db } from '../../src/db/client';
import { OUTREACH_CALL, outreachStepKey } from '../../src/domain/replacement';
import type { OutreachCallRequest } from '../../src/workflows/contract';
import { silentLogger } from '../messaging/fixtures';

const DAY = 86_400_000;

/**
 * The vehicle workflows as the API sees them: openOutreachCall opens the task with the real
 * activity (the fair rule, the row) and, as Temporal does, answers a repeated update ID as before.
 * `failNext` makes the next update fail as the workflow's does when the database stays down;
 * `refuse` makes a workflow's updates fail as its validator or a closed workflow does.
 * Case workflows started are recorded.
 */
export function vehicleWorkflows(db: Db) {
  const activities = createFollowUpActivities({ db, logger: silentLogger, temporal: {} as never, taskQueue: 'unused' });
  const updates: { workflowId: string; updateId?: string }[] = [];
  const answered = new Map<string, unknown>();
  let failNext = false;
  const refusals = new Map<string, Error>();
  const started: string[] = [];
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        executeUpdate: async (_def: unknown, opts: { args: [OutreachCallRequest]; updateId?: string }) => {
          updates.push({ workflowId, updateId: opts.updateId });
          if (refusals.has(workflowId)) throw refusals.get(workflowId);
          if (failNext) {
            failNext = false;
            throw new WorkflowUpdateFailedError('update failed', new ActivityFailure('activity failed', 'openFollowUp', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker'));
          }
          if (opts.updateId && answered.has(opts.updateId)) return answered.get(opts.updateId);
          const { id: deliveryId } = await db.delivery.findFirstOrThrow({ where: { workflowId } });
          const stepKey = outreachStepKey(opts.args[0].cycle);
          const { followUpId } = await activities.openFollowUp({
            deliveryId, stepKey, role: 'consultant', checklist: [...OUTREACH_CALL.checklist], survey: false, mandatory: false, maxAttempts: 3,
            dueStart: new Date().toISOString(), dueEnd: new Date(Date.now() + opts.args[0].callWindowDays * DAY).toISOString(),
          });
          const result = { stepKey, followUpId };
          if (opts.updateId) answered.set(opts.updateId, result);
          return result;
        },
      }),
      start: async (_type: string, opts: { workflowId: string }) => { started.push(opts.workflowId); },
    },
  } as unknown as Client;
  return { client, updates, activities, started, failNextUpdate: () => { failNext = true; }, refuse: (workflowId: string, err: Error) => refusals.set(workflowId, err) };
}

