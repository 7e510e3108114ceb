/**
 * A morning burst: N reminders (default 10,000) of N vehicles fall due in the same second, and the
 * SMS provider (the Twilio mock, answering 429 above its rate) takes 50 messages/s. Figures: the
 * drain time from the due instant to the last message accepted (goal close to N / rate: 200 s), the
 * 429s (goal 0) and the messages accepted per reminder, counted at the mock (goal exactly 1 each).
 *
 *   node --import tsx bench/burst.ts [--n 10000] [--rate 50] [--quick]   (--quick: 1,000 at 10/s)
 *
 * What it exercises: two worker processes (each polls the main and the messaging task queue),
 * N real vehicleLifecycle workflows whose reminder timers all fire at the due instant, N sends on
 * the messaging task queue through the shared pace (SMS_RATE_PER_SECOND = the provider's rate),
 * the real send activity (consent, quiet hours, cap, claim, exactly-once) and the Twilio SDK.
 * What it shortcuts, because ingesting 10,000 deliveries takes far longer on 2 cores than the burst
 * itself: the customers, vehicles and deliveries are written in bulk (as an import would), and each
 * workflow is started by the Temporal client with a one-step plan, the maintenance reminder an hour
 * after delivery, all deliveries an hour before the burst instant: so nothing else of the plan or of
 * the years is due, and the burst is exactly N timers firing at once and N sends. (The years plan's
 * own due dates are test/workflows/vehicle-years.test.ts's; here only the moment matters.)
 */
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../src/config';
import { createDb } from '../src/db/client';
import type { LifecycleInput } from '../src/domain/lifecycle';
import { workflowIdFor } from '../src/temporal/connection';
import { startTwilioMock } from '../test/helpers/twilio-mock';
import { BenchArgs, cpuPerItem, cpuSnapshot, createStores, fmt, loadAverage, log, main, persistencePerItem, pool, Row, sized, sleep, startBenchStack, temporalPersistenceRequests, verdict, vinFor, waitUntil } from './lib';

const STORE = 'bench-burst';
const ACCOUNT_SID = `AC${'b'.repeat(32)}`;
/** Workflows started before the burst instant is set: their starts and first tasks are not the burst. */
const STARTS_PER_SECOND_ASSUMED = 25;
const REMINDER_AFTER_MINUTES = 60;

/** A fixed-offset zone where it is about noon now, so the burst falls inside every contact window. */
function zoneWhereItIsNoon(): string {
  const offset = 12 - new Date().getUTCHours();
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

export async function runBurst(args: BenchArgs): Promise<{ rows: Row[]; details?: string }> {
  const n = sized(args, 10_000);
  const rate = args.rate ?? (args.quick ? 10 : 50);
  const mock = await startTwilioMock();
  mock.limitRate(rate, 'messages');
  // The workers are started here: the bench stack keeps Twilio settings away from the services it starts.
  const bs = await startBenchStack('burst', args, { skip: ['worker', 'api'], env: { SMS_RATE_PER_SECOND: String(rate), SMS_RATE_COUNTS: 'messages' } });
  const connection = await Connection.connect({ address: bs.stack.env.TEMPORAL_ADDRESS! });
  try {
    const workerEnv = { ...bs.stack.env, TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: 'burst-token', TWILIO_FROM: '+15005550006', TWILIO_API_BASE_URL: mock.baseUrl };
    await Promise.all(['worker-1', 'worker-2'].map((name) => bs.stack.startWorker(name, workerEnv)));
    const timeZone = zoneWhereItIsNoon();
    await createStores(bs.databaseUrl, [STORE]);
    // The burst instant, far enough ahead for every vehicle to be written and its workflow started and asleep on its timer.
    const dueAt = new Date(Date.now() + 30_000 + (n / STARTS_PER_SECOND_ASSUMED) * 1000);
    const deliveredAt = new Date(dueAt.getTime() - REMINDER_AFTER_MINUTES * 60_000);
    const db = createDb(bs.databaseUrl, 2);
    const rows = await (async () => {
      try {
        await db.store.update({ where: { id: STORE }, data: { timeZone } });
        const consultant = await db.staff.create({ data: { storeId: STORE, externalId: 'c-burst', name: '李明', role: 'consultant', phone: '+8613900001111' } });
        return await seed(db, n, consultant.id, deliveredAt);
      } finally {
        await db.$disconnect();
      }
    })();
    const { TEMPORAL_NAMESPACE: namespace, TEMPORAL_TASK_QUEUE: taskQueue } = parseConfig(bs.stack.env);
    const client = new Client({ connection, namespace });
    log(`burst: ${n} vehicles written; starting their workflows, all due at ${dueAt.toISOString()} (provider ${rate}/s)`);
    const t0 = Date.now();
    await pool(rows, 16, async (r) => {
      await client.workflow.start('vehicleLifecycle', { taskQueue, workflowId: workflowIdFor(STORE, r.vin), args: [reminderAt(r.deliveryId, timeZone, deliveredAt)] });
    });
    const startedIn = (Date.now() - t0) / 1000;
    const overran = Date.now() - dueAt.getTime();
    log(`burst: ${n} workflows started in ${fmt(startedIn)} s${overran > 0 ? `, ${fmt(overran / 1000)} s past the due instant (the burst began during the starts)` : ''}`);

    await sleep(Math.max(0, dueAt.getTime() - Date.now()));
    const cpuBefore = cpuSnapshot(bs);
    const persistenceBefore = await temporalPersistenceRequests(bs);
    const load = loadAverage();
    const timeoutMs = (n / rate) * 3 * 1000 + 120_000;
    let lastLog = Date.now();
    await waitUntil('every reminder accepted at the provider', async () => {
      if (Date.now() - lastLog > 15_000) {
        log(`burst: ${mock.delivered()}/${n} accepted, ${mock.rateLimited()} answered 429`);
        lastLog = Date.now();
      }
      return mock.delivered() >= n;
    }, timeoutMs, 200);
    await sleep(5_000); // anything sent twice would arrive now
    await mock.idle();
    const cpuAfter = cpuSnapshot(bs);
    const persistence = persistencePerItem(persistenceBefore, await temporalPersistenceRequests(bs), n);

    const accepted = [...mock.accepted()].sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime());
    const drainS = (accepted[accepted.length - 1].dateCreated.getTime() - dueAt.getTime()) / 1000;
    const recipients = new Set(accepted.map((m) => m.to));
    const duplicates = accepted.length - recipients.size;
    const missing = n - recipients.size;
    const tooMany = mock.rateLimited();
    const idealS = n / rate;
    // The busiest second at the provider, to show the pace from its side.
    let peak = 0;
    for (let i = 0, j = 0; j < accepted.length; j++) {
      while (accepted[j].dateCreated.getTime() - accepted[i].dateCreated.getTime() >= 1000) i++;
      peak = Math.max(peak, j - i + 1);
    }
    const cpu = cpuPerItem(cpuBefore, cpuAfter, n);
    const history = await historyPerReminder(client, rows.filter((_, i) => i % Math.max(1, Math.floor(n / 100)) === 0).map((r) => workflowIdFor(STORE, r.vin)), dueAt);
    log(`burst: drained in ${fmt(drainS)} s (ideal ${fmt(idealS)} s), ${tooMany} 429s, ${duplicates} duplicates, ${missing} missing, busiest second ${peak}; CPU ms per reminder: ${cpu}; Temporal persistence requests per reminder: ${persistence}; load ${load} -> ${loadAverage()}`);
    return {
      rows: [
        { benchmark: 'burst', figure: `${n} reminders due at once, provider ${rate}/s: drain time`, value: `${fmt(drainS)} s`, baseline: `${fmt(idealS)} s at the rate`, goal: `close to ${fmt(idealS, 0)} s`, verdict: verdict(drainS <= idealS * 1.1 + 5) },
        { benchmark: 'burst', figure: '429s answered by the provider', value: String(tooMany), baseline: '', goal: '0', verdict: verdict(tooMany === 0) },
        { benchmark: 'burst', figure: 'reminders sent exactly once (at the mock)', value: `${recipients.size}/${n} (${duplicates} twice, ${missing} missing)`, baseline: '', goal: `${n}/${n}`, verdict: verdict(duplicates === 0 && missing === 0) },
        // Up to twice the rate can fit in one second without a 429: the provider's one second of burst plus its refill.
        { benchmark: 'burst', figure: 'busiest second at the provider', value: `${peak} messages`, baseline: `${rate}/s`, goal: '', verdict: 'info' },
        { benchmark: 'burst', figure: 'CPU ms per reminder during the drain', value: cpu, baseline: '', goal: '', verdict: 'info' },
        { benchmark: 'burst', figure: 'history per reminder during the drain (a sample of 100)', value: history, baseline: '', goal: '', verdict: 'info' },
        { benchmark: 'burst', figure: 'Temporal persistence requests per reminder during the drain (its /metrics)', value: persistence, baseline: '', goal: '', verdict: 'info' },
      ],
      details: `${n} workflows started in ${fmt(startedIn)} s before the due instant; two workers; load average ${load} at the burst.`,
    };
  } finally {
    await connection.close();
    await bs.stop();
    await mock.stop();
  }
}

/**
 * What Temporal did per reminder from the due instant on, averaged over sampled workflows: history
 * events, workflow tasks (each a replay when the workflow has left the worker's cache), workflow
 * tasks that timed out waiting on a sticky queue (each queued again, one more round), send attempts.
 */
async function historyPerReminder(client: Client, workflowIds: string[], dueAt: Date): Promise<string> {
  let events = 0, tasks = 0, timedOut = 0, attempts = 0;
  for (const workflowId of workflowIds) {
    const { events: all } = await client.workflow.getHandle(workflowId).fetchHistory();
    for (const e of all ?? []) {
      if (Number(e.eventTime?.seconds ?? 0) * 1000 < dueAt.getTime()) continue;
      events++;
      if (e.workflowTaskCompletedEventAttributes) tasks++;
      if (e.workflowTaskTimedOutEventAttributes) timedOut++;
      if (e.activityTaskStartedEventAttributes) attempts += e.activityTaskStartedEventAttributes.attempt ?? 1;
    }
  }
  const per = (x: number) => fmt(x / workflowIds.length, 2);
  return `${per(events)} events, ${per(tasks)} workflow tasks, ${per(timedOut)} timed out on a sticky queue, ${per(attempts)} send attempts`;
}

interface Seeded {
  deliveryId: string;
  vin: string;
}

/** N customers, vehicles and deliveries in bulk (their workflows marked started, so the repair loop leaves them alone). */
async function seed(db: ReturnType<typeof createDb>, n: number, consultantId: string, deliveredAt: Date): Promise<Seeded[]> {
  const seeded: Seeded[] = [];
  for (let from = 0; from < n; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, n - from) }, (_, k) => from + k);
    const customers = batch.map((i) => ({ id: crypto.randomUUID(), storeId: STORE, externalId: `C-${i}`, name: `客户${i}`, phone: `+86139${String(i).padStart(8, '0')}` }));
    const vehicles = batch.map((i) => ({ id: crypto.randomUUID(), storeId: STORE, vin: vinFor(i), model: '帕萨特' }));
    const deliveries = batch.map((_, k) => ({
      id: crypto.randomUUID(), storeId: STORE, vehicleId: vehicles[k].id, customerId: customers[k].id, consultantId, deliveredAt,
      workflowId: workflowIdFor(STORE, vehicles[k].vin), workflowStartedAt: new Date(),
    }));
    await db.customer.createMany({ data: customers });
    await db.vehicle.createMany({ data: vehicles });
    await db.delivery.createMany({ data: deliveries });
    seeded.push(...deliveries.map((d, k) => ({ deliveryId: d.id, vin: vehicles[k].vin })));
  }
  return seeded;
}

/** A vehicle whose one step, the maintenance reminder, falls due an hour after its delivery (valid for 8 hours). */
function reminderAt(deliveryId: string, timeZone: string, deliveredAt: Date): LifecycleInput {
  return {
    deliveryId, storeId: STORE, timeZone, deliveredAt: deliveredAt.toISOString(), customerWindow: { start: '09:00', end: '20:00' },
    plan: {
      id: 'burst', version: 1,
      steps: [{
        key: 'maintenance-reminder', title: '保养提醒', kind: 'message', channel: 'sms', role: 'system', timing: { type: 'after', minutes: REMINDER_AFTER_MINUTES },
        checklist: [], template: 'maintenance-reminder', notAfterMinutes: REMINDER_AFTER_MINUTES + 8 * 60,
      }],
    },
    vehicle: { model: '帕萨特' },
  };
}

if (require.main === module) main('Morning burst', runBurst);
