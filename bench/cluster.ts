/**
 * Throughput on the cluster profile (scripts/cluster.ts: Temporal server on PostgreSQL, 8 history
 * shards, API replicas, workers), against the raw baseline on the same cluster in the same run:
 * no-op workflows (one no-op activity each) on one and on two baseline worker processes, then
 * deliveries through both API replicas, timed until every thank-you is recorded, with one worker
 * and with two. Also reads the workers' Prometheus endpoints (the SDK's metrics) for the
 * workflow task schedule-to-start latency.
 *
 *   node --import tsx bench/cluster.ts [--n 1000] [--concurrency 16] [--keep]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, freeClusterPorts } from '../scripts/cluster';
import { createDb } from '../src/db/client';
import { createApiKey } from '../src/services/stores';
import { baseline, ingest, warmUp } from './ingest';
import { BenchArgs, createStores, fmt, log, main, Row, sized, tail, verdict } from './lib';

const STORE = 'bench';

/** Mean of a Prometheus histogram (`_sum / _count`) summed over every series of that name. */
async function histogramMean(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const total = (suffix: string) => text.split('\n')
    .filter((l) => l.startsWith(`${name}_${suffix}`))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  return total('sum') / total('count');
}

export async function runCluster(args: BenchArgs): Promise<{ rows: Row[]; details: string }> {
  const n = sized(args, 1000, 20);
  const concurrency = args.concurrency ?? 16;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'huifang-bench-cluster-'));
  const ports = await freeClusterPorts({ workers: 2, apis: 2 });
  const cluster = new Cluster({
    dir, ports, historyShards: 8, supervise: false,
    env: { ...process.env, LOG_LEVEL: args.logLevel, DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined, SMTP_URL: undefined, TWILIO_ACCOUNT_SID: undefined, TWILIO_AUTH_TOKEN: undefined },
    output: { file: path.join(dir, 'cluster.log') },
  });
  // Interrupted, the benchmark still stops every process it started.
  const interrupted = () => void cluster.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await cluster.start(log);
    const databaseUrl = cluster.stack.env.DATABASE_URL!;
    await createStores(databaseUrl, [STORE]);
    const db = createDb(databaseUrl, 1);
    const { key } = await createApiKey(db, { name: 'bench', role: 'admin', storeId: null }).finally(() => db.$disconnect());
    const bs = { stack: cluster.stack, databaseUrl, key };
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${cluster.apiUrls[0]}/v1/stores/${STORE}/staff/S-${i}`, {
        method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `顾问${i}`, role: 'consultant' }),
      });
      if (!res.ok) throw new Error(`staff: ${res.status} ${await res.text()}`);
    }
    await warmUp(bs);

    const base1 = await baseline(bs, n, concurrency, 1, 'one');
    const base2 = await baseline(bs, n, concurrency, 2, 'two');
    // One worker: the second stops (its workflows move to the first on their next task).
    await cluster.stack.stopService(cluster.service('worker-2')!);
    const one = await ingest(bs, n, concurrency, cluster.apiUrls, 0);
    await cluster.startWorker(1);
    const two = await ingest(bs, n, concurrency, cluster.apiUrls, n);
    const scheduleToStart = await Promise.all(ports.workerMetrics.map((p) =>
      histogramMean(`http://127.0.0.1:${p}/metrics`, 'temporal_workflow_task_schedule_to_start_latency').catch(() => NaN)));

    const row = (figure: string, value: string, base: string, goal = '', v: Row['verdict'] = 'info'): Row =>
      ({ benchmark: 'cluster', figure, value, baseline: base, goal, verdict: v });
    const rows: Row[] = [
      row(`no-op workflows/s, 1 baseline worker (N=${n}, ${concurrency} at once)`, fmt(base1.perSecond), ''),
      row('no-op workflows/s, 2 baseline workers', fmt(base2.perSecond), fmt(base1.perSecond)),
      row('deliveries/s through 2 API replicas, 1 worker', fmt(one.perSecond), `${fmt(base1.perSecond)} no-op/s`),
      row('deliveries/s through 2 API replicas, 2 workers', fmt(two.perSecond), `${fmt(base2.perSecond)} no-op/s`),
      row('ratio to baseline, 2 workers', fmt(two.perSecond / base2.perSecond, 2), '1.00', '≥ 0.50', verdict(two.perSecond / base2.perSecond >= 0.5)),
      row('POST /v1/deliveries p50 / p99, 2 workers', `${fmt(two.postP50, 0)} / ${fmt(two.postP99, 0)} ms`, '', `${one.failed + two.failed} failed`, one.failed + two.failed ? 'MISS' : 'info'),
    ];
    const details = [
      '- Temporal server 1.29.1 (all services in one process) on PostgreSQL 18 (embedded), 8 history shards; our data on a second PostgreSQL',
      `- CPU ms per baseline workflow (1 worker): ${base1.cpu}`,
      `- CPU ms per baseline workflow (2 workers): ${base2.cpu}`,
      `- CPU ms per delivery (1 worker): ${one.cpu}`,
      `- CPU ms per delivery (2 workers): ${two.cpu}`,
      `- workflow task schedule-to-start, mean since start (worker Prometheus endpoints): ${scheduleToStart.map((v) => `${fmt(v)} ms`).join(', ')}`,
    ].join('\n');
    return { rows, details };
  } catch (err) {
    process.stderr.write(`last lines of the cluster log:\n${tail(path.join(dir, 'cluster.log'), 40)}\n`);
    throw err;
  } finally {
    await cluster.stop();
    if (args.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main('Cluster throughput', runCluster);
