/**
 * What every benchmark shares: arguments, the product started as child processes on free ports in
 * a temporary folder (src/stack.ts), a seeded random source, percentiles, /proc readings, the
 * load generator (a second process running autocannon) and the result table.
 *
 * Bench code never imports from test/: it uses the product's own modules only.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiKey, createStore } from '../src/services/stores';
import { createDb } from '../src/db/client';
import { vinCheckDigit } from '../src/domain/vin';
import { freePort, freeStackPorts, Stack, StackOptions } from '../src/stack';
import type { LoadResult, LoadSpec } from './stats';

export { percentile, rng, uuidFrom } from './stats';
export type { LoadResult, LoadSpec } from './stats';

export const ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------------------------------------
// Arguments

export interface BenchArgs {
  /** --n N: the benchmark's main size (deliveries, workflows, rows, tasks) */
  n?: number;
  /** --quick: every default size 10x smaller, shorter load phases */
  quick: boolean;
  /** --keep: leave the temporary data folder (and its stack.log) for a look afterwards */
  keep: boolean;
  /** --concurrency C, --rate R, --duration S, --seed S, --log-level L */
  concurrency?: number;
  rate?: number;
  duration?: number;
  seed: number;
  logLevel: string;
}

export function parseArgs(argv = process.argv.slice(2)): BenchArgs {
  const args: BenchArgs = { quick: false, keep: false, seed: 20261125, logLevel: 'info' };
  const num = (flag: string, raw: string | undefined) => {
    const v = Number(raw);
    if (!raw || !Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? a.split('=', 2) : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--n': args.n = Math.round(num(flag, value())); break;
      case '--quick': args.quick = true; break;
      case '--keep': args.keep = true; break;
      case '--concurrency': args.concurrency = Math.round(num(flag, value())); break;
      case '--rate': args.rate = num(flag, value()); break;
      case '--duration': args.duration = num(flag, value()); break;
      case '--seed': args.seed = Math.round(num(flag, value())); break;
      case '--log-level': args.logLevel = value() ?? 'info'; break;
      case '--help': case '-h':
        process.stdout.write('usage: node --import tsx bench/<x>.ts [--n N] [--quick] [--keep] [--concurrency C] [--rate R] [--duration S] [--seed S] [--log-level L]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return args;
}

/** The size to use: --n wins, else the default (10x smaller with --quick). */
export const sized = (args: BenchArgs, full: number, min = 1) => args.n ?? Math.max(min, args.quick ? Math.round(full / 10) : full);

// ---------------------------------------------------------------------------------------------
// The stack

export interface BenchStack {
  stack: Stack;
  dataDir: string;
  databaseUrl: string;
  /** The admin key of a group-level API key (every store). */
  key: string;
  /** The Temporal dev server's Prometheus metrics. */
  temporalMetricsUrl: string;
  service(name: string): { pid: number } | undefined;
  stop(): Promise<void>;
}

/** Variables that would point the stack at external services: benchmarks run on the embedded defaults. */
const EXTERNAL = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM', 'TWILIO_MESSAGING_SERVICE_SID', 'TWILIO_API_BASE_URL', 'DATA_DIR'];

/**
 * The product on free ports in a fresh temporary folder, headless; service output goes to
 * `<dataDir>/stack.log`. Stopping it removes the folder unless --keep.
 */
export async function startBenchStack(name: string, args: BenchArgs, opts: { skip?: StackOptions['skip']; env?: Record<string, string> } = {}): Promise<BenchStack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `huifang-bench-${name}-`));
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: args.logLevel, ...opts.env };
  for (const v of EXTERNAL) delete env[v];
  const ports = await freeStackPorts();
  let temporalMetricsPort = await freePort();
  while (Object.values(ports).includes(temporalMetricsPort)) temporalMetricsPort = await freePort();
  const stack = new Stack({
    dataDir,
    env,
    ports,
    temporalMetricsPort,
    headless: true,
    output: { file: path.join(dataDir, 'stack.log') },
    skip: opts.skip,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
    if (args.keep) process.stderr.write(`  (kept ${dataDir})\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await stack.start();
  } catch (err) {
    process.stderr.write(`stack failed to start; last lines of ${path.join(dataDir, 'stack.log')}:\n${tail(path.join(dataDir, 'stack.log'))}\n`);
    await stop();
    throw err;
  }
  const databaseUrl = stack.env.DATABASE_URL!;
  const db = createDb(databaseUrl, 1);
  let key: string;
  try {
    key = (await createApiKey(db, { name: 'bench', role: 'admin', storeId: null })).key;
  } finally {
    await db.$disconnect();
  }
  return {
    stack, dataDir, databaseUrl, key, temporalMetricsUrl: `http://127.0.0.1:${temporalMetricsPort}/metrics`,
    service: (n) => {
      const s = stack.services.find((x) => x.name === n && x.child.exitCode === null && x.child.signalCode === null);
      return s?.child.pid ? { pid: s.child.pid } : undefined;
    },
    stop: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await stop();
    },
  };
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Stores created the way the product creates them (with their default plan). */
export async function createStores(databaseUrl: string, ids: string[]): Promise<void> {
  const db = createDb(databaseUrl, 2);
  try {
    for (const id of ids) await createStore(db, { id, name: `门店 ${id}`, timeZone: 'Asia/Shanghai', serviceHotline: '400-800-8888' }, 'bench');
  } finally {
    await db.$disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/** A valid VIN (check digit in position 9) for a serial number. */
export function vinFor(serial: number): string {
  const draft = `LSVAU2180N${String(serial).padStart(7, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : Math.round(v)} ms` : 'n/a');
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
export const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(runners);
}

export const sleep = (millis: number) => new Promise((r) => setTimeout(r, millis));

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The machine

/** Resident and peak resident memory of a process, from /proc/<pid>/status (bytes). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** The pids of `pid` and all its descendants (PostgreSQL's backends are children of its postmaster). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    for (const c of parents.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

/** CPU seconds used by a process and its descendants (live ones, and the exited ones they reaped). */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU seconds per service of the stack (and of this process, the load driver), for a before/after diff. */
export function cpuSnapshot(bs: Pick<BenchStack, 'stack'>): Record<string, number> {
  const snap: Record<string, number> = { bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 };
  for (const s of bs.stack.services) if (s.child.pid && s.child.exitCode === null) snap[s.name] = treeCpuSeconds(s.child.pid);
  return snap;
}

/** "api 3.1, worker 4.0, ..." milliseconds of CPU per item between two snapshots. */
export function cpuPerItem(before: Record<string, number>, after: Record<string, number>, items: number): string {
  return Object.keys(after)
    .filter((k) => before[k] !== undefined)
    .map((k) => `${k} ${(((after[k] - before[k]) * 1000) / items).toFixed(2)}`)
    .join(', ');
}

/** The Temporal server's persistence requests so far, by operation (its `persistence_requests` counter). */
export async function temporalPersistenceRequests(bs: Pick<BenchStack, 'temporalMetricsUrl'>): Promise<Map<string, number>> {
  const text = await (await fetch(bs.temporalMetricsUrl)).text();
  const byOperation = new Map<string, number>();
  for (const m of text.matchAll(/^persistence_requests\{[^}]*operation="(\w+)"[^}]*\} (\S+)$/gm)) {
    byOperation.set(m[1], (byOperation.get(m[1]) ?? 0) + Number(m[2]));
  }
  return byOperation;
}

/** "26.5 in all: UpdateWorkflowExecution 8.0, ..." requests per item between two readings, the `top` busiest named. */
export function persistencePerItem(before: Map<string, number>, after: Map<string, number>, items: number, top = 4): string {
  const per = [...after].map(([op, n]) => [op, (n - (before.get(op) ?? 0)) / items] as const).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const total = per.reduce((sum, [, n]) => sum + n, 0);
  return `${total.toFixed(1)} in all: ${per.slice(0, top).map(([op, n]) => `${op} ${n.toFixed(2)}`).join(', ')}`;
}

/** Total size of the files in `dir` whose names start with `prefix` (the SQLite file, its WAL and SHM). */
export function filesSize(dir: string, prefix: string): number {
  return readdirSync(dir).filter((f) => f.startsWith(prefix)).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

export function machine(): string {
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${loadAverage()} (1/5/15 min), Node ${process.version}`;
}

// ---------------------------------------------------------------------------------------------
// Load from a second process (bench/load.ts runs autocannon)

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'load.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stdin.end(JSON.stringify(spec));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
}

// ---------------------------------------------------------------------------------------------
// Results

export type Verdict = 'PASS' | 'MISS' | 'info';

export interface Row {
  benchmark: string;
  figure: string;
  value: string;
  /** the same-run baseline it is compared with, or '' */
  baseline: string;
  goal: string;
  verdict: Verdict;
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

export function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

export function resultTable(rows: Row[]): string {
  return markdownTable(['benchmark', 'figure', 'value', 'baseline (same run)', 'goal', 'verdict'],
    rows.map((r) => [r.benchmark, r.figure, r.value, r.baseline || '—', r.goal || '—', r.verdict]));
}

export function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/**
 * Entry point of a single benchmark script: parse the arguments, run, print the table (stdout),
 * exit 0 even on MISS (a benchmark reports, it does not gate), 1 when it could not run.
 */
export function main(title: string, run: (args: BenchArgs) => Promise<{ rows: Row[]; details?: string }>): void {
  const args = parseArgs();
  const started = Date.now();
  log(`${title}: ${machine()}`);
  run(args).then(
    ({ rows, details }) => {
      process.stdout.write(`\n## ${title}\n\n${details ? `${details}\n\n` : ''}${resultTable(rows)}\n\n`);
      process.stdout.write(`_${machine()}; took ${Math.round((Date.now() - started) / 1000)} s_\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${title} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
