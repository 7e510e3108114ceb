/**
 * Idle footprint: N lifecycle workflows (default 20,000) started straight through the Temporal
 * client with deliveredAt ten years ahead, so every step sleeps on its timer. Printed: the
 * worker's resident memory (from /proc/<pid>/status of the worker process), the dev server's
 * database size (its SQLite files in the data folder), and the API's p99 while they sleep; each
 * next to the same figure measured in the same run before the workflows were started.
 * Goal: worker RSS under 500 MB (sleeping workflows are not held in memory).
 *
 * The workflows carry IDs only (a random delivery ID, the store's ID), no personal data.
 *
 *   node --import tsx bench/idle.ts [--n 20000] [--concurrency 32] [--rate 100] [--duration 15] [--quick]
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_CUSTOMER_WINDOW } from '../src/domain/contact-window';
import { DEFAULT_PLAN } from '../src/domain/plan';
import type { LifecycleInput } from '../src/domain/lifecycle';
import {
  BenchArgs,
  BenchStack,
  cpuPerItem,
  cpuSnapshot,
  createStores,
  filesSize,
  fmt,
  LoadResult,
  log,
  main,
  mb,
  memoryOf,
  ms,
  pool,
  Row,
  runLoad,
  sized,
  sleep,
  startBenchStack,
  verdict,
} from './lib';

const STORE = 'bench';
const TASK_QUEUE = 'huifang';
const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;

async function apiLoad(bs: BenchStack, args: BenchArgs): Promise<{ tasks: LoadResult; health: LoadResult }> {
  const rate = args.rate ?? 100;
  const duration = args.duration ?? (args.quick ? 5 : 15);
  const headers = { authorization: `Bearer ${bs.key}` };
  const taskPaths = [`/v1/tasks?storeId=${STORE}`, `/v1/tasks?storeId=${STORE}&due=overdue`];
  // Warm-up (first requests compile Prisma's queries, open connections): not measured.
  await runLoad({ url: bs.stack.apiUrl, paths: taskPaths, headers, rate: 50, duration: 2, seed: args.seed });
  const health = await runLoad({ url: bs.stack.apiUrl, paths: ['/health'], rate, duration, seed: args.seed });
  const tasks = await runLoad({ url: bs.stack.apiUrl, paths: taskPaths, headers, rate, duration, seed: args.seed });
  return { tasks, health };
}

/** Workflow tasks not yet picked up on the queue; undefined when the server does not say. */
async function backlog(client: Client): Promise<number | undefined> {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType: 1 /* WORKFLOW */, reportStats: true,
    });
    const count = res.stats?.approximateBacklogCount;
    return count === undefined || count === null ? undefined : Number(count);
  } catch {
    return undefined;
  }
}

/** Whether the workflow has run its first workflow task (its timers are started). */
async function asleep(client: Client, workflowId: string): Promise<boolean> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).some((e) => e.timerStartedEventAttributes);
}

export async function runIdle(args: BenchArgs): Promise<{ rows: Row[]; details: string }> {
  const n = sized(args, 20_000, 100);
  const concurrency = args.concurrency ?? 32;
  log(`idle: ${n} sleeping lifecycle workflows, started ${concurrency} at once`);
  const bs = await startBenchStack('idle', args);
  const connection = await Connection.connect({ address: bs.stack.env.TEMPORAL_ADDRESS! });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const client = new Client({ connection });
    await createStores(bs.databaseUrl, [STORE]);
    const worker = bs.service('worker')!;
    const sqlite = () => filesSize(bs.dataDir, 'temporal.sqlite');

    // Baselines: the same figures before any workflow exists.
    await sleep(2000);
    const before = { memory: memoryOf(worker.pid), db: sqlite(), api: await apiLoad(bs, args) };
    log(`idle: before: worker RSS ${mb(before.memory.rss)}, dev server DB ${mb(before.db)}, API /v1/tasks p99 ${ms(before.api.tasks.p99)}`);

    const plan = { id: randomUUID(), version: 1, steps: DEFAULT_PLAN.steps };
    const deliveredAt = new Date(Date.now() + TEN_YEARS_MS).toISOString();
    const cpu0 = cpuSnapshot(bs);
    const t0 = Date.now();
    let peak = 0;
    sampler = setInterval(() => {
      try {
        peak = Math.max(peak, memoryOf(worker.pid).rss);
      } catch {
        // the worker is gone: reported below
      }
    }, 500);
    await pool(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
      const input: LifecycleInput = {
        deliveryId: randomUUID(), storeId: STORE, timeZone: 'Asia/Shanghai', deliveredAt, customerWindow: DEFAULT_CUSTOMER_WINDOW, plan,
      };
      await client.workflow.start('vehicleLifecycle', { taskQueue: TASK_QUEUE, workflowId: `bench-idle-${i}`, args: [input] });
      if (i > 0 && i % 2000 === 0) log(`idle: ${i} started (worker RSS ${mb(memoryOf(worker.pid).rss)})`);
    });
    const startSeconds = (Date.now() - t0) / 1000;
    log(`idle: ${n} started in ${startSeconds.toFixed(1)} s (${fmt(n / startSeconds)}/s)`);

    // Every workflow has run its first task (started its timers): the backlog is empty and the
    // last ones started, plus a sample of the rest, are asleep.
    const sample = [...Array.from({ length: 20 }, (_, k) => n - 1 - k), ...Array.from({ length: 20 }, (_, k) => Math.floor((k * n) / 20))].filter((i) => i >= 0);
    const deadline = Date.now() + 600_000;
    let settled = true;
    for (;;) {
      const waiting = await backlog(client);
      if ((waiting === undefined || waiting === 0) && (await Promise.all(sample.map((i) => asleep(client, `bench-idle-${i}`)))).every(Boolean)) break;
      if (Date.now() > deadline) {
        settled = false;
        log(`idle: not all asleep 10 minutes after the last start (backlog ${waiting ?? 'unknown'}): measuring as it is`);
        break;
      }
      await sleep(1000);
    }
    const settleSeconds = (Date.now() - t0) / 1000;
    const cpu = cpuPerItem(cpu0, cpuSnapshot(bs), n);
    if (settled) log(`idle: all asleep ${settleSeconds.toFixed(1)} s after the first start`);
    await sleep(5000);
    clearInterval(sampler);
    if (!bs.service('worker')) throw new Error('the worker exited while the workflows were started (see stack.log with --keep)');
    const after = { memory: memoryOf(worker.pid), db: sqlite(), api: await apiLoad(bs, args) };
    const running = (await client.workflow.count(`WorkflowType = 'vehicleLifecycle' AND ExecutionStatus = 'Running'`)).count;
    log(`idle: after: worker RSS ${mb(after.memory.rss)} (peak ${mb(Math.max(peak, after.memory.hwm))}), dev server DB ${mb(after.db)}, ${running} running`);

    const rate = args.rate ?? 100;
    const rows: Row[] = [
      {
        benchmark: 'idle', figure: `worker RSS with ${n} sleeping workflows`, value: mb(after.memory.rss),
        baseline: `${mb(before.memory.rss)} with none`, goal: '< 500 MB', verdict: verdict(after.memory.rss < 500 * 1024 * 1024),
      },
      {
        benchmark: 'idle', figure: `all ${n} asleep (first workflow task done)`, value: settled ? `after ${settleSeconds.toFixed(0)} s` : `not after ${settleSeconds.toFixed(0)} s`,
        baseline: `${fmt(n / startSeconds)} starts/s`, goal: 'within 10 min of the last start', verdict: verdict(settled),
      },
      {
        benchmark: 'idle', figure: 'worker peak RSS (VmHWM) while they were started', value: mb(Math.max(peak, after.memory.hwm)),
        baseline: mb(before.memory.hwm), goal: '< 500 MB', verdict: verdict(Math.max(peak, after.memory.hwm) < 500 * 1024 * 1024),
      },
      {
        benchmark: 'idle', figure: 'dev server database (SQLite + WAL)', value: `${mb(after.db)} (${fmt((after.db - before.db) / n / 1024)} KB/workflow)`,
        baseline: `${mb(before.db)} empty`, goal: '', verdict: 'info',
      },
      {
        benchmark: 'idle', figure: `API GET /v1/tasks p99 at ${rate}/s while they sleep`, value: ms(after.api.tasks.p99),
        baseline: `${ms(before.api.tasks.p99)} before they existed`, goal: '', verdict: 'info',
      },
      {
        benchmark: 'idle', figure: `API GET /health p99 at ${rate}/s while they sleep`, value: ms(after.api.health.p99),
        baseline: `${ms(before.api.health.p99)} before`, goal: '', verdict: 'info',
      },
    ];
    const details = [
      `- ${n} workflows (${running} running at the end) started in ${startSeconds.toFixed(1)} s (${fmt(n / startSeconds)}/s), ${settled ? 'all asleep' : 'not all asleep'} after ${settleSeconds.toFixed(1)} s`,
      `- CPU ms per workflow, start to asleep: ${cpu}`,
      `- API p50 /v1/tasks before/after: ${ms(before.api.tasks.p50)} / ${ms(after.api.tasks.p50)}; errors ${before.api.tasks.non2xx + before.api.tasks.errors}/${after.api.tasks.non2xx + after.api.tasks.errors}`,
    ].join('\n');
    return { rows, details };
  } finally {
    clearInterval(sampler);
    await connection.close();
    await bs.stop();
  }
}

if (require.main === module) main('Idle footprint', runIdle);
