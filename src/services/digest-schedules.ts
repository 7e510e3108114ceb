/**
 * One Temporal Schedule per store starts its morning run (src/workflows/store-digest.ts) at the
 * store's digest hour in the store's time zone; a paused store's schedule is paused. The API calls
 * `syncDigestSchedule` when a store is created or its zone, hour or pause changes, and the worker
 * syncs every store when it starts and every quarter hour (stores made by the admin CLI or npm start,
 * a change made while Temporal was down). Syncing is idempotent: it creates the schedule or brings
 * it to the store's settings.
 */
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleUpdateOptions } from '@temporalio/client';
import type { Db } from '../db/client';
import { digestScheduleId, STORE_DIGEST_WORKFLOW, type StoreDigestWorkflowInput } from '../workflows/contract';

export interface DigestStore {
  id: string;
  timeZone: string;
  digestHour: number;
  paused: boolean;
}

type Temporal = Pick<Client, 'schedule'>;

/** What the store's schedule should be. */
function desired(store: DigestStore, taskQueue: string): ScheduleUpdateOptions {
  const args: [StoreDigestWorkflowInput] = [{ storeId: store.id }];
  return {
    spec: { calendars: [{ hour: store.digestHour, minute: 0, comment: 'the store\'s morning digest' }], timezone: store.timeZone },
    action: {
      type: 'startWorkflow', workflowType: STORE_DIGEST_WORKFLOW, args, taskQueue,
      workflowId: digestScheduleId(store.id),
      // A run still retrying by the next morning gives way to it.
      workflowRunTimeout: '20 hours',
    },
    // Missed while the cluster was down: still sent within the morning, never a day late.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '4 hours', pauseOnFailure: false },
    state: { paused: store.paused, note: store.paused ? 'the store is paused' : undefined },
  };
}

export async function syncDigestSchedule(temporal: Temporal, taskQueue: string, store: DigestStore): Promise<void> {
  const want = desired(store, taskQueue);
  const handle = temporal.schedule.getHandle(digestScheduleId(store.id));
  try {
    await handle.update(() => want);
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    try {
      await temporal.schedule.create({ scheduleId: digestScheduleId(store.id), ...want });
    } catch (raced) {
      // Another process created it meanwhile: bring it to the settings.
      if (!(raced instanceof ScheduleAlreadyRunning)) throw raced;
      await handle.update(() => want);
    }
  }
}

/** Every store's schedule, as the worker starts. */
export async function syncAllDigestSchedules(db: Db, temporal: Temporal, taskQueue: string): Promise<number> {
  const stores = await db.store.findMany({ select: { id: true, timeZone: true, digestHour: true, paused: true }, orderBy: { id: 'asc' } });
  for (const store of stores) await syncDigestSchedule(temporal, taskQueue, store);
  return stores.length;
}
