/**
 * Inbox latency: 100,000 open call tasks (default) over 50 stores and 500 staff members, on top of
 * nine times as many closed ones (10^6 follow-ups in all), generated with bench/generate.ts. A
 * second process (bench/load.ts) sends task-inbox requests at a fixed rate (default 500/s): a staff member's inbox (GET
 * /v1/tasks?assigneeId=, 70%), a store's overdue list (20%) and a store's open list (10%), each for
 * a random store or person. Printed: p50 and p99, next to GET /health at the same rate from the
 * same process (the HTTP floor). Goal: p99 under 50 ms at 500 requests/s.
 *
 *   node --import tsx bench/inbox.ts [--n 100000] [--rate 500] [--duration 30] [--quick]
 */
import { generate } from './generate';
import { BenchArgs, cpuPerItem, cpuSnapshot, fmt, LoadResult, log, main, ms, Row, runLoad, sized, startBenchStack, verdict } from './lib';

const GOAL_P99_MS = 50;
const WARM_UP_S = 15;

export async function runInbox(args: BenchArgs): Promise<{ rows: Row[]; details: string }> {
  const n = sized(args, 100_000, 1000);
  const rate = args.rate ?? 500;
  const duration = args.duration ?? (args.quick ? 10 : 30);
  log(`inbox: ${n} open tasks, ${rate} requests/s for ${duration} s`);
  const bs = await startBenchStack('inbox', args, { skip: ['worker'] });
  try {
    const now = new Date();
    const gen = await generate(bs.databaseUrl, {
      seed: args.seed, stores: 50, staffPerStore: 10, historyFollowUps: 9 * n,
      historyFrom: new Date(now.getTime() - 120 * 24 * 3600_000), historyTo: new Date(now.getTime() - 20 * 24 * 3600_000),
      openFollowUps: n, now,
    });
    const people = [...gen.staff.values()].flat().filter((p) => p.role !== 'general_manager').map((p) => p.id);
    // 70% personal inboxes, 20% a store's overdue list, 10% a store's open list: 100 paths in that mix.
    const paths = [
      ...Array.from({ length: 70 }, (_, i) => `/v1/tasks?assigneeId=${people[(i * 7) % people.length]}`),
      ...Array.from({ length: 20 }, (_, i) => `/v1/tasks?storeId=${gen.storeIds[i % gen.storeIds.length]}&due=overdue`),
      ...Array.from({ length: 10 }, (_, i) => `/v1/tasks?storeId=${gen.storeIds[(i * 3) % gen.storeIds.length]}`),
    ];
    const headers = { authorization: `Bearer ${bs.key}` };
    const url = bs.stack.apiUrl;
    // Warm-up at the rate, reported but not judged: right after the bulk load the first seconds at
    // 500/s queue (p90 over 100 ms in the first 15 s, under 10 ms after: caches and compiled code
    // warming up, not told apart), which a server in service has long done.
    const warmUp = await runLoad({ url, paths, headers, rate, duration: WARM_UP_S, seed: args.seed, connections: 64 });
    const floor = await runLoad({ url, paths: ['/health'], rate, duration: Math.min(duration, 10), seed: args.seed });
    const cpuBefore = cpuSnapshot(bs);
    const inbox: LoadResult = await runLoad({ url, paths, headers, rate, duration, seed: args.seed, connections: 64 });
    // What each request costs the API (and PostgreSQL): the figure to read on a machine shared with other work.
    // The load generator runs on the same cores: its own CPU per request is printed beside the servers'.
    const cpu = `${cpuPerItem(cpuBefore, cpuSnapshot(bs), inbox.requests)}, load generator ${fmt(inbox.cpuMsPerRequest ?? NaN, 2)}`;
    log(`inbox: p50 ${ms(inbox.p50)} p99 ${ms(inbox.p99)} max ${ms(inbox.max)} at ${fmt(inbox.rps)}/s; /health p99 ${ms(floor.p99)}; generator lag p99 ${ms(inbox.lagP99)}; CPU ms per request: ${cpu}`);
    const failed = inbox.non2xx + inbox.errors;
    const rows: Row[] = [
      {
        benchmark: 'inbox', figure: `GET /v1/tasks p99 at ${rate}/s (${n} open tasks)`, value: ms(inbox.p99),
        baseline: `${ms(floor.p99)} (GET /health at ${rate}/s)`, goal: `< ${GOAL_P99_MS} ms`, verdict: verdict(inbox.p99 < GOAL_P99_MS && failed === 0),
      },
      {
        benchmark: 'inbox', figure: 'GET /v1/tasks p50', value: ms(inbox.p50), baseline: `${ms(floor.p50)} (GET /health)`, goal: '', verdict: 'info',
      },
      {
        benchmark: 'inbox', figure: `warm-up: p99 in the first ${WARM_UP_S} s at the rate, right after the bulk load (not judged)`, value: ms(warmUp.p99), baseline: '', goal: '', verdict: 'info',
      },
      { benchmark: 'inbox', figure: 'CPU ms per request, by process', value: cpu, baseline: '', goal: '', verdict: 'info' },
      {
        benchmark: 'inbox', figure: 'requests served / failed', value: `${inbox.requests - failed} / ${failed}`,
        baseline: '', goal: '0 failed', verdict: verdict(failed === 0),
      },
    ];
    const details = `${gen.followUps} follow-ups (${n} open) generated in ${gen.seconds.toFixed(0)} s; ${inbox.requests} requests in ${duration} s, open loop from a second process, paced at ${rate}/s (achieved ${fmt(inbox.rps)}/s, generator lag p99 ${ms(inbox.lagP99)}); p90 ${ms(inbox.p90)}, max ${ms(inbox.max)}.`;
    return { rows, details };
  } finally {
    await bs.stop();
  }
}

if (require.main === module) main('Inbox latency', runInbox);
