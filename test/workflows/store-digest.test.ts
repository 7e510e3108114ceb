import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { createReplacementActivities, type ScreeningProgress } from '../../src/activities/replacement';
import type { ActivityDeps } from '../../src/activities/deps';
import type { Db } from '../../src/db/client';
import type { LifecycleState } from '../../src/domain/lifecycle';
import { storeDigest } from '../../src/workflows/store-digest';
import { createTestDatabase } from '../helpers/db';
import { createTestWorker, timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { seedCustomer, seedStore, silentLogger } from '../messaging/fixtures';
import { recordHistory } from './histories';

let env: TestWorkflowEnvironment;
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;

beforeAll(async () => {
  [env, t] = await Promise.all([timeSkippingEnv(), createTestDatabase(), workflowBundle()]);
  db = t.db;
}, 60_000);

afterAll(async () => {
  await env?.teardown();
  await t?.drop();
});

/** 08:00 in Shanghai on a Saturday, the store's screening day: its morning run. */
const MORNING = '2030-06-15T00:00:00.000Z';

/** What the vehicle workflows answer when the screening asks (by workflow ID); a missing one does not answer. */
function vehicleWorkflows(states: Record<string, Partial<NonNullable<LifecycleState['years']>>>): ActivityDeps['temporal'] {
  const getHandle = (id: string) => ({
    query: async () => {
      if (!states[id]) throw new Error(`workflow ${id} not found`);
      return { years: { lastServiceOn: '2030-01-01', servicesDone: 3, readings: [], ...states[id] } };
    },
  });
  return { workflow: { withDeadline: <T>(_at: number, fn: () => Promise<T>) => fn(), getHandle } } as unknown as ActivityDeps['temporal'];
}

describe('the store\'s morning run', () => {
  it('screens the store\'s vehicles for replacement once per cycle, however often it runs', async () => {
    const { store } = await seedStore(db);
    await db.store.update({
      where: { id: store.id },
      data: { replacementCriteria: { enabled: true, screeningWeekday: 6, minAgeMonths: 36, maxAgeMonths: 60, models: ['Model Y'], lastServiceWithinMonths: null, minMileageKm: 30_000, callWindowDays: 7 } },
    });
    const vehicle = async (deliveredOn: string, model: string, opts: { ended?: boolean } = {}) => {
      const c = await seedCustomer(db, store.id, { deliveredAt: new Date(`${deliveredOn}T10:00:00+08:00`) });
      const d = await db.delivery.update({
        where: { id: c.deliveryId },
        data: { workflowStartedAt: new Date(), status: opts.ended ? 'ended' : 'active', vehicle: { update: { model } } },
      });
      return d;
    };
    const due = await vehicle('2027-01-10', 'Model Y');
    const otherModel = await vehicle('2027-01-10', 'Model 3');
    const young = await vehicle('2029-01-10', 'Model Y');
    const lowMileage = await vehicle('2027-03-01', 'Model Y');
    const silent = await vehicle('2026-07-01', 'Model Y');
    const sold = await vehicle('2027-02-01', 'Model Y', { ended: true });
    const km = (n: number) => ({ readings: [{ on: '2029-06-01', km: n - 10_000 }, { on: '2030-06-01', km: n }] });
    const temporal = vehicleWorkflows({ [due.workflowId]: km(60_000), [otherModel.workflowId]: km(90_000), [young.workflowId]: km(90_000), [lowMileage.workflowId]: km(12_000), [sold.workflowId]: km(90_000) });
    expect(silent.workflowId).toBeTruthy();

    const screening = createReplacementActivities({ db, logger: silentLogger, temporal });
    const results: unknown[] = [];
    const activities = {
      reclaimStoreCustomers: async () => ({ reclaimed: 0 }),
      sendStoreDigest: async () => ({ day: '2030-06-14', recipients: 0, notices: {}, alerts: [] }),
      screenReplacementCandidates: async (input: { storeId: string; asOf: string }) => {
        const r = await screening.screenReplacementCandidates(input);
        results.push(r);
        return r;
      },
    };
    const { worker, taskQueue } = await createTestWorker(env, activities);
    await worker.runUntil(async () => {
      // The schedule's run, the same morning's run again (a manual trigger), Sunday's (no screening), and next Saturday's.
      for (const [n, asOf] of [[1, MORNING], [2, MORNING], [3, '2030-06-16T00:00:00.000Z'], [4, '2030-06-22T00:00:00.000Z']] as const) {
        const handle = await env.client.workflow.start(storeDigest, { taskQueue, workflowId: `store-digest-${store.id}-${n}`, args: [{ storeId: store.id, asOf }] });
        await handle.result();
        if (n === 1) {
          await recordHistory(handle, 'morning-run-screens-replacement');
          // A lost worker is noticed within the heartbeat timeout, not after the whole screening's.
          const scheduled = (await handle.fetchHistory()).events!.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === 'screenReplacementCandidates');
          expect(Number(scheduled?.heartbeatTimeout?.seconds ?? 0)).toBe(60);
        }
      }
    });

    // The age and model pre-filter leaves three; the silent one is not screened (asked again next run).
    expect(results).toEqual([
      { screened: 2, added: 1, after: expect.anything() }, { screened: 1, added: 0, after: expect.anything() }, { screened: 0, added: 0 }, { screened: 1, added: 0, after: expect.anything() },
    ]);
    const candidates = await db.replacementCandidate.findMany({ where: { storeId: store.id } });
    expect(candidates).toEqual([expect.objectContaining({
      deliveryId: due.id, cycle: 'year-4', status: 'pending',
      facts: { ageMonths: 41, model: 'Model Y', lastServiceOn: '2030-01-01', forecastKm: expect.any(Number) },
    })]);
    expect((candidates[0].facts as { forecastKm: number }).forecastKm).toBeGreaterThanOrEqual(60_000);
  });
});

describe('the replacement screening of a large store', () => {
  it('goes by pages in a stable order, heartbeats the last key, and a retried attempt resumes after it: one candidate per vehicle, nothing asked twice', async () => {
    const { store } = await seedStore(db);
    await db.store.update({
      where: { id: store.id },
      data: { replacementCriteria: { enabled: true, screeningWeekday: 6, minAgeMonths: 36, maxAgeMonths: 60, models: [], lastServiceWithinMonths: null, minMileageKm: 30_000, callWindowDays: 7 } },
    });
    // Seven vehicles, two delivered at the same instant (the ID orders them); the 2nd and 5th have too few km.
    const deliveredAt = ['2027-01-10', '2027-01-10', '2027-02-01', '2027-03-01', '2027-04-01', '2027-05-01', '2027-06-01'];
    const vehicles = [];
    for (const on of deliveredAt) {
      const c = await seedCustomer(db, store.id, { deliveredAt: new Date(`${on}T10:00:00+08:00`) });
      vehicles.push(await db.delivery.update({ where: { id: c.deliveryId }, data: { workflowStartedAt: new Date() } }));
    }
    const lowKm = new Set([vehicles[1].workflowId, vehicles[4].workflowId]);
    const asked: string[] = [];
    let hangAfter = Infinity;
    const temporal = {
      workflow: {
        withDeadline: <T>(_at: number, fn: () => Promise<T>) => fn(),
        getHandle: (id: string) => ({
          query: async () => {
            asked.push(id);
            // The first attempt's worker dies while its second page is being asked about.
            if (asked.length > hangAfter) return new Promise(() => undefined);
            const km = lowKm.has(id) ? 10_000 : 60_000;
            return { years: { lastServiceOn: '2030-01-01', servicesDone: 1, readings: [{ on: '2029-06-01', km: km - 5_000 }, { on: '2030-06-01', km }] } };
          },
        }),
      },
    } as unknown as ActivityDeps['temporal'];
    const screening = createReplacementActivities({ db, logger: silentLogger, temporal }, { pageSize: 2 });
    const quiet = { logger: new DefaultLogger('ERROR') };

    hangAfter = 3;
    const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const beats: ScreeningProgress[] = [];
    first.on('heartbeat', (d: ScreeningProgress) => beats.push(d));
    void first.run(screening.screenReplacementCandidates, { storeId: store.id, asOf: MORNING });
    while (asked.length <= hangAfter) await new Promise((r) => setTimeout(r, 20));
    const ordered = [...vehicles].sort((a, b) => a.deliveredAt.getTime() - b.deliveredAt.getTime() || a.id.localeCompare(b.id));
    // Heartbeats while asking keep the details of the last page written: the first page's key, never the unfinished second's.
    expect(beats.at(-1)).toEqual({ after: { deliveredAt: ordered[1].deliveredAt.toISOString(), id: ordered[1].id }, screened: 2, added: expect.any(Number) });
    expect([...new Set(beats.map((b) => b.after?.id ?? null))]).toEqual([null, ordered[1].id]);

    hangAfter = Infinity;
    const askedBefore = asked.length;
    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats.at(-1) }, quiet);
    const result = await second.run(screening.screenReplacementCandidates, { storeId: store.id, asOf: MORNING });
    // The retry asks only about the vehicles after the first page; the counts carry over.
    expect(asked.slice(askedBefore).sort()).toEqual(ordered.slice(2).map((v) => v.workflowId).sort());
    expect(result).toMatchObject({ screened: 7, added: 5 });
    const candidates = await db.replacementCandidate.findMany({ where: { storeId: store.id } });
    expect(candidates.map((c) => c.deliveryId).sort()).toEqual(vehicles.filter((v) => !lowKm.has(v.workflowId)).map((v) => v.id).sort());
  });
});
