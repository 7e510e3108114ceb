/**
 * KPI queries: 1,000,000 follow-up rows (default; 250,000 deliveries) over 50 stores and 500 staff
 * members, generated with bench/generate.ts (seeded, straight to PostgreSQL). Each KPI endpoint
 * is timed over HTTP for one store and month, and for the whole group and year; printed with p50
 * and p95, next to an authenticated one-query endpoint timed the same way (the floor), and with
 * the index use of the query plan (EXPLAIN ANALYZE of the very SQL the endpoint runs, captured
 * from Prisma's query events). Goal: p95 under 200 ms for a store-month. The all-KPIs counts are
 * also computed row by row (as before the KpiTally rows) and must equal the tallied ones.
 *
 *   node --import tsx bench/kpi.ts [--n 1000000] [--quick]
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { Client as PgClient } from 'pg';
import { DeliveryKpiKey, FOLLOW_UP_KPIS, isFollowUpKpi, KPI_KEYS, KpiKey, RANKING_METRICS, resolvePeriod } from '../src/domain/kpi';
import { PrismaClient } from '../src/generated/prisma/client';
import { createKpiQueries } from '../src/kpi/queries';
import type { KpiFilter } from '../src/kpi/sql';
import { generate } from './generate';
import { BenchArgs, BenchStack, log, main, markdownTable, ms, percentile, rng, Row, sized, startBenchStack, verdict } from './lib';

const YEAR = 2025;
const TIME_ZONE = 'Asia/Shanghai';
const GOAL_MS = 200;
/** The whole group over a year (issue 16). */
const GROUP_YEAR_GOAL_MS = 300;

interface Scope {
  name: 'store-month' | 'group-year';
  query: string;
  filter: KpiFilter;
}

interface Endpoint {
  name: string;
  path: (scope: Scope) => string;
  /** runs the endpoint's SQL through the product's query builder (for EXPLAIN) */
  sql: (q: ReturnType<typeof createKpiQueries>, filter: KpiFilter) => Promise<unknown>;
}

const ENDPOINTS: Endpoint[] = [
  { name: `GET /v1/kpis (all ${KPI_KEYS.length} KPIs)`, path: (s) => `/v1/kpis?${s.query}`, sql: (q, f) => q.tallies(f) },
  ...RANKING_METRICS.map((metric): Endpoint => ({
    name: `GET /v1/kpis/ranking?metric=${metric}`, path: (s) => `/v1/kpis/ranking?metric=${metric}&${s.query}`, sql: (q, f) => (isFollowUpKpi(metric) ? q.byAssignee(metric, f) : q.byConsultant(metric, f)),
  })),
  ...KPI_KEYS.map((key: KpiKey): Endpoint => ({
    name: `GET /v1/kpis/${key}/rows`,
    path: (s) => `/v1/kpis/${key}/rows?${s.query}`,
    sql: (q, f) => (key in FOLLOW_UP_KPIS
      ? q.followUpRows(key as keyof typeof FOLLOW_UP_KPIS, f, { limit: 101 })
      : q.deliveryRows(key as DeliveryKpiKey, f, { limit: 101 })),
  })),
];

function period(from: string, to: string): { from: Date; to: Date } {
  const p = resolvePeriod({ from, to, timeZone: TIME_ZONE, now: new Date() });
  if (!p.ok) throw new Error(p.message);
  return { from: p.from, to: p.to };
}

function storeMonth(random: () => number, stores: string[]): Scope {
  const storeId = stores[Math.floor(random() * stores.length)];
  const m = 1 + Math.floor(random() * 12);
  const from = `${YEAR}-${String(m).padStart(2, '0')}-01`;
  const to = m === 12 ? `${YEAR + 1}-01-01` : `${YEAR}-${String(m + 1).padStart(2, '0')}-01`;
  return { name: 'store-month', query: `storeId=${storeId}&from=${from}&to=${to}`, filter: { storeId, ...period(from, to), asOf: new Date() } };
}

function groupYear(): Scope {
  const from = `${YEAR}-01-01`;
  const to = `${YEAR + 1}-01-01`;
  return { name: 'group-year', query: `from=${from}&to=${to}`, filter: { ...period(from, to), asOf: new Date() } };
}

async function timed(bs: BenchStack, path: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${bs.stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${bs.key}` } });
  const body = await res.text();
  const took = performance.now() - t;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
  return took;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** "Index Scan FollowUp_storeId_dueEnd_idx; Seq Scan Delivery (250000 rows)" */
function indexUse(plan: PlanNode): string {
  const seen = new Map<string, number>();
  const walk = (n: PlanNode) => {
    if (n['Index Name']) {
      const k = `${n['Node Type'].replace(' Scan', '')} ${n['Index Name']}`;
      seen.set(k, (seen.get(k) ?? 0) + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1));
    } else if (n['Node Type'] === 'Seq Scan') {
      const k = `Seq Scan ${n['Relation Name']}`;
      seen.set(k, (seen.get(k) ?? 0) + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1));
    }
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan);
  return [...seen].map(([k, rows]) => `${k} (${rows} rows)`).join('; ') || 'no table access';
}

/** The SQL each endpoint runs, captured from Prisma's query events, then EXPLAIN ANALYZEd. */
async function explainAll(databaseUrl: string, scopes: Scope[]): Promise<Map<string, { use: string; ms: number }>> {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 1 }), log: [{ emit: 'event', level: 'query' }] });
  const captured: { query: string; params: string }[] = [];
  prisma.$on('query', (e) => captured.push({ query: e.query, params: e.params }));
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  const out = new Map<string, { use: string; ms: number }>();
  try {
    const q = createKpiQueries(prisma);
    for (const scope of scopes) {
      for (const ep of ENDPOINTS) {
        captured.length = 0;
        await ep.sql(q, scope.filter);
        const last = captured[captured.length - 1];
        if (!last) throw new Error(`no query captured for ${ep.name}`);
        const params = JSON.parse(last.params) as unknown[];
        const res = await pg.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${last.query}`, params);
        const [{ Plan, 'Execution Time': took }] = res.rows[0]['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[];
        out.set(`${ep.name}|${scope.name}`, { use: indexUse(Plan), ms: took });
      }
    }
  } finally {
    await pg.end();
    await prisma.$disconnect();
  }
  return out;
}

/**
 * GET /v1/kpis's counts both ways in process, on the same data: row by row over the follow-ups
 * (the store-month path, and every path before the tallies) and through the tallies. Throws when
 * they differ. Median of 3 of each, wall-clock, and the tallied call's CPU in this process.
 */
async function rowByRow(databaseUrl: string, scopes: Scope[]): Promise<{ scope: string; rowByRow: number; tallied: number; cpu: number }[]> {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 2 }) });
  const q = createKpiQueries(prisma);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  try {
    const out = [];
    for (const scope of scopes) {
      const times = { rows: [] as number[], tallied: [] as number[], cpu: [] as number[] };
      for (let i = 0; i < 3; i++) {
        let t = performance.now();
        const expected = await q.countRows(scope.filter);
        times.rows.push(performance.now() - t);
        t = performance.now();
        const cpu = process.cpuUsage();
        const got = await q.tallies(scope.filter);
        const used = process.cpuUsage(cpu);
        times.tallied.push(performance.now() - t);
        times.cpu.push((used.user + used.system) / 1000);
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${scope.name}: the tallies (${JSON.stringify(got)}) differ from the rows (${JSON.stringify(expected)})`);
      }
      out.push({ scope: scope.name, rowByRow: median(times.rows), tallied: median(times.tallied), cpu: median(times.cpu) });
    }
    return out;
  } finally {
    await prisma.$disconnect();
  }
}

export async function runKpi(args: BenchArgs): Promise<{ rows: Row[]; details: string }> {
  const n = sized(args, 1_000_000, 10_000);
  const iterations = { 'store-month': args.quick ? 10 : 20, 'group-year': args.quick ? 3 : 5 };
  log(`kpi: ${n} follow-up rows over 50 stores and 500 staff`);
  const bs = await startBenchStack('kpi', args, { skip: ['worker'] });
  try {
    const gen = await generate(bs.databaseUrl, {
      seed: args.seed, stores: 50, staffPerStore: 10, historyFollowUps: n,
      historyFrom: period(`${YEAR}-01-01`, `${YEAR + 1}-01-01`).from, historyTo: period(`${YEAR}-01-01`, `${YEAR + 1}-01-01`).to,
      openFollowUps: 0, now: new Date(),
    });
    const random = rng(args.seed);
    // Warm-up: connections, Prisma's compiled queries, PostgreSQL's caches (each endpoint once).
    for (const ep of ENDPOINTS) await timed(bs, ep.path(storeMonth(random, gen.storeIds)));

    const floor: number[] = [];
    for (let i = 0; i < 20; i++) floor.push(await timed(bs, `/v1/stores/${gen.storeIds[i % gen.storeIds.length]}/plan`));
    const results = new Map<string, number[]>();
    for (const scopeName of ['store-month', 'group-year'] as const) {
      const t0 = Date.now();
      for (const ep of ENDPOINTS) {
        const times: number[] = [];
        for (let i = 0; i < iterations[scopeName]; i++) {
          const scope = scopeName === 'store-month' ? storeMonth(random, gen.storeIds) : groupYear();
          times.push(await timed(bs, ep.path(scope)));
        }
        results.set(`${ep.name}|${scopeName}`, times);
      }
      log(`kpi: ${scopeName} timed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const plans = await explainAll(bs.databaseUrl, [storeMonth(rng(args.seed + 1), gen.storeIds), groupYear()]);
    const before = await rowByRow(bs.databaseUrl, [storeMonth(rng(args.seed + 2), gen.storeIds), groupYear()]);

    const stat = (k: string, p: number) => percentile(results.get(k)!, p);
    const table = markdownTable(
      ['endpoint', 'store-month p50', 'p95', 'group-year p50', 'p95', 'plan, store-month (rows read)', 'plan, group-year (rows read)'],
      ENDPOINTS.map((ep) => {
        const sm = `${ep.name}|store-month`;
        const gy = `${ep.name}|group-year`;
        return [ep.name, ms(stat(sm, 50)), ms(stat(sm, 95)), ms(stat(gy, 50)), ms(stat(gy, 95)),
          `${plans.get(sm)?.use} — ${ms(plans.get(sm)?.ms ?? NaN)}`, `${plans.get(gy)?.use} — ${ms(plans.get(gy)?.ms ?? NaN)}`];
      }),
    );
    const worst = (scope: string) => ENDPOINTS.map((ep) => ({ ep: ep.name, p95: stat(`${ep.name}|${scope}`, 95) })).reduce((a, b) => (b.p95 > a.p95 ? b : a));
    const sm = worst('store-month');
    const gy = worst('group-year');
    const floorText = `${ms(percentile(floor, 95))} (GET /v1/stores/:id/plan)`;
    const all = stat(`${ENDPOINTS[0].name}|store-month`, 95);
    const rows: Row[] = [
      { benchmark: 'kpi', figure: `GET /v1/kpis p95, one store and month (${n} rows)`, value: ms(all), baseline: floorText, goal: `< ${GOAL_MS} ms`, verdict: verdict(all < GOAL_MS) },
      { benchmark: 'kpi', figure: `slowest KPI endpoint p95, store-month: ${sm.ep.replace('GET ', '')}`, value: ms(sm.p95), baseline: floorText, goal: `< ${GOAL_MS} ms`, verdict: verdict(sm.p95 < GOAL_MS) },
      { benchmark: 'kpi', figure: `slowest KPI endpoint p95, group-year: ${gy.ep.replace('GET ', '')}`, value: ms(gy.p95), baseline: floorText, goal: `< ${GROUP_YEAR_GOAL_MS} ms`, verdict: verdict(gy.p95 < GROUP_YEAR_GOAL_MS) },
    ];
    const details = [
      `All KPIs counted row by row (the path before the tallies, the reference they must equal): ${before.map((b) => `${b.scope} ${ms(b.rowByRow)} against ${ms(b.tallied)} from the tallies, CPU per call in the bench process ${b.cpu.toFixed(1)} ms`).join('; ')}; same answers.`,
      '',
      `${gen.deliveries} deliveries and ${gen.followUps} follow-ups generated in ${gen.seconds.toFixed(0)} s; ${iterations['store-month']} requests per endpoint for store-month (a random store and month each), ${iterations['group-year']} for group-year; floor p50/p95 ${ms(percentile(floor, 50))} / ${ms(percentile(floor, 95))}.`,
      '',
      table,
    ].join('\n');
    return { rows, details };
  } finally {
    await bs.stop();
  }
}

if (require.main === module) main('KPI queries', runKpi);
