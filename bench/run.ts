/**
 * `npm run bench`: the benchmarks one after the other, each on a stack of its own, then one
 * combined table. Arguments are passed to each (`--quick` scales every size down 10x; `--n` is
 * not accepted here because the sizes differ: run one script for that).
 *
 *   npm run bench [-- --quick] [-- --only ingest,kpi]
 *
 * `--only cluster` runs the throughput on the cluster profile (scripts/cluster.ts), which needs Go
 * to build the Temporal server the first time; it is not part of the default set.
 */
import { runBurst } from './burst';
import { runCases } from './cases';
import { runCluster } from './cluster';
import { runConsole } from './console';
import { runIdle } from './idle';
import { runImport } from './import';
import { runInbox } from './inbox';
import { runIngest } from './ingest';
import { runKpi } from './kpi';
import { BenchArgs, log, machine, parseArgs, resultTable, Row } from './lib';

const BENCHMARKS: Record<string, { title: string; run: (args: BenchArgs) => Promise<{ rows: Row[]; details?: string }> }> = {
  ingest: { title: 'Ingest throughput', run: runIngest },
  idle: { title: 'Idle footprint', run: runIdle },
  kpi: { title: 'KPI queries', run: runKpi },
  inbox: { title: 'Inbox latency', run: runInbox },
  cases: { title: 'CR desk', run: runCases },
  cluster: { title: 'Cluster throughput', run: runCluster },
  import: { title: 'Import throughput', run: runImport },
  console: { title: 'Staff console', run: runConsole },
  burst: { title: 'Morning burst', run: runBurst },
};
const DEFAULT_SET = ['ingest', 'idle', 'kpi', 'inbox', 'cases', 'import', 'console', 'burst'];

async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  const onlyAt = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  let only = DEFAULT_SET;
  if (onlyAt >= 0) {
    const raw = argv[onlyAt].includes('=') ? argv[onlyAt].split('=')[1] : argv[onlyAt + 1];
    argv.splice(onlyAt, argv[onlyAt].includes('=') ? 1 : 2);
    only = raw.split(',').map((s) => s.trim());
    for (const name of only) if (!BENCHMARKS[name]) throw new Error(`unknown benchmark ${name}: one of ${Object.keys(BENCHMARKS).join(', ')}`);
  }
  const args = parseArgs(argv);
  if (args.n !== undefined) throw new Error('--n differs per benchmark: run bench/<name>.ts --n N instead');
  const started = Date.now();
  const startMachine = machine();
  log(`bench: ${only.join(', ')}${args.quick ? ' (quick)' : ''}; ${startMachine}`);
  const rows: Row[] = [];
  const sections: string[] = [];
  for (const name of only) {
    const { title, run: runOne } = BENCHMARKS[name];
    const t0 = Date.now();
    try {
      const result = await runOne(args);
      rows.push(...result.rows);
      sections.push(`## ${title} (${Math.round((Date.now() - t0) / 1000)} s)\n\n${result.details ?? ''}\n`);
    } catch (err) {
      log(`${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
      rows.push({ benchmark: name, figure: 'could not run', value: err instanceof Error ? err.message.slice(0, 120) : String(err), baseline: '', goal: '', verdict: 'MISS' });
    }
    log(`bench: ${name} done in ${Math.round((Date.now() - t0) / 1000)} s`);
  }
  process.stdout.write(`\n# Huifang benchmarks${args.quick ? ' (--quick)' : ''}\n\n${sections.join('\n')}\n## Summary\n\n${resultTable(rows)}\n\n`);
  process.stdout.write(`_started on ${startMachine}; ended on ${machine()}; took ${Math.round((Date.now() - started) / 1000)} s_\n`);
}

run().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
