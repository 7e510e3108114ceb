/**
 * Fault drill on the cluster profile (scripts/cluster.ts): deliveries stream in through both API
 * replicas while one worker, one API replica and the Temporal server are killed with SIGKILL (the
 * cluster's supervisor starts each again, as a process manager would). Counted at the Twilio mock:
 * every delivery's thank-you SMS accepted exactly once. Afterwards every delivery's workflow is
 * running and no delivery is half-written (rows without a workflow, or a customer or vehicle
 * without its delivery). Exits 1 on any lost or duplicated message or broken delivery.
 *
 *   node --import tsx bench/drill.ts [--n 300] [--concurrency 8] [--keep]
 *
 * The Twilio mock is the end-to-end tests' (test/helpers/twilio-mock.ts): Prism on Twilio's own
 * OpenAPI spec behind a recorder that, like Twilio, makes every create a new message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { Cluster, freeClusterPorts } from '../scripts/cluster';
import { createApiKey } from '../src/services/stores';
import { createDb } from '../src/db/client';
import { workflowIdFor } from '../src/temporal/connection';
import { startTwilioMock } from '../test/helpers/twilio-mock';
import { createStores, fmt, log, machine, markdownTable, parseArgs, sized, sleep, tail, vinFor, waitUntil } from './lib';

const STORE = 'drill';
const ACCOUNT_SID = `AC${'d'.repeat(32)}`;

/** What the drill kills, and when: after this share of the deliveries has been posted. */
const KILLS = [
  { at: 0.2, service: 'worker-1' },
  { at: 0.45, service: 'api-1' },
  { at: 0.7, service: 'temporal' },
] as const;

const phoneOf = (i: number) => `+86138${String(i).padStart(8, '0')}`;

function deliveryBody(i: number, deliveredAt: string) {
  return {
    storeId: STORE,
    deliveredAt,
    customer: { externalId: `C-${i}`, name: `客户${i}`, phone: phoneOf(i), contactWindow: { start: '00:00', end: '23:59' } },
    vehicle: { vin: vinFor(i), model: '帕萨特 Passat' },
    consultant: { externalId: 'S-1' },
  };
}

export interface DrillResult {
  deliveries: number;
  kills: string[];
  sent: number;
  duplicates: number;
  missing: number;
  notRunning: number;
  halfWritten: number;
  retriedPosts: number;
  drainSeconds: number;
}

export async function runDrill(argv = process.argv.slice(2)): Promise<DrillResult> {
  const args = parseArgs(argv);
  const n = sized(args, 300, 30);
  const concurrency = args.concurrency ?? 8;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'huifang-drill-'));
  const mock = await startTwilioMock();
  const ports = await freeClusterPorts({ workers: 2, apis: 2 });
  const cluster = new Cluster({
    dir, ports, historyShards: 8, supervise: true,
    env: {
      ...process.env, LOG_LEVEL: args.logLevel, DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined, SMTP_URL: undefined,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: 'drill-token', TWILIO_FROM: '+15005550006', TWILIO_API_BASE_URL: mock.baseUrl,
      TWILIO_MESSAGING_SERVICE_SID: undefined,
    },
    output: { file: path.join(dir, 'cluster.log') },
  });
  // Interrupted, the drill still stops every process it started.
  const interrupted = () => void Promise.allSettled([cluster.stop(), mock.stop()]).finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    log(`drill: starting the cluster in ${dir}`);
    await cluster.start(log);
    const databaseUrl = cluster.stack.env.DATABASE_URL!;
    await createStores(databaseUrl, [STORE]);
    const db = createDb(databaseUrl, 1);
    const { key } = await createApiKey(db, { name: 'drill', role: 'admin', storeId: null }).finally(() => db.$disconnect());
    const staff = await fetch(`${cluster.apiUrls[0]}/v1/stores/${STORE}/staff/S-1`, {
      method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: '顾问', role: 'consultant' }),
    });
    if (!staff.ok) throw new Error(`staff: ${staff.status} ${await staff.text()}`);

    // Posting: round robin over the replicas; a refused request or a 502-504 goes to the next one, as
    // behind a load balancer; posting the same delivery again is safe (it answers the recorded one).
    // Any other answer is a bug the drill reports at once.
    const deliveredAt = new Date().toISOString();
    let retriedPosts = 0;
    let posted = 0;
    const post = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        const url = cluster.apiUrls[(i + attempt) % cluster.apiUrls.length];
        const res = await fetch(`${url}/v1/deliveries`, {
          method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(deliveryBody(i, deliveredAt)), signal: AbortSignal.timeout(30_000),
        }).catch((err: unknown) => err as Error);
        if (!(res instanceof Error) && (res.status === 200 || res.status === 201)) return;
        if (!(res instanceof Error) && ![502, 503, 504].includes(res.status)) throw new Error(`delivery ${i}: ${res.status} ${await res.text()}`);
        retriedPosts++;
        if (attempt > 100) throw new Error(`delivery ${i}: still failing: ${res instanceof Error ? res.message : res.status}`);
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    };
    const kills: string[] = [];
    const pending = [...KILLS];
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        await post(i);
        posted++;
        while (pending.length > 0 && posted >= pending[0].at * n) {
          const { service } = pending.shift()!;
          const victim = cluster.service(service);
          if (!victim?.child.pid) throw new Error(`${service} is not running`);
          process.kill(victim.child.pid, 'SIGKILL');
          kills.push(`${service} at ${posted}`);
          log(`drill: killed ${service} (pid ${victim.child.pid}) after ${posted} deliveries`);
        }
      }
    }));
    const postedAt = Date.now();
    log(`drill: ${n} deliveries posted in ${((postedAt - t0) / 1000).toFixed(1)} s (${retriedPosts} posts retried)`);

    // Drained: every thank-you accepted (or the time is up), then a pause for late duplicates.
    const thankYous = () => new Set(mock.accepted().map((m) => m.to));
    await waitUntil('every thank-you SMS', async () => thankYous().size >= n, 300_000, 500).catch((err: unknown) => log(`drill: ${String(err)}`));
    const drainSeconds = (Date.now() - postedAt) / 1000;
    await sleep(5000);
    await mock.idle();

    const perPhone = new Map<string, number>();
    for (const m of mock.accepted()) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    let duplicates = 0;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const count = perPhone.get(phoneOf(i)) ?? 0;
      if (count === 0) missing++;
      if (count > 1) duplicates += count - 1;
    }

    // Every delivery's rows complete and its workflow running.
    const pg = new Pool({ connectionString: databaseUrl, max: 1 });
    const rows = await pg.query<{ vin: string; ok: boolean }>(`
      SELECT v.vin, (d.id IS NOT NULL AND d."workflowId" IS NOT NULL AND c.id IS NOT NULL) AS ok
      FROM "Vehicle" v LEFT JOIN "Delivery" d ON d."vehicleId" = v.id LEFT JOIN "Customer" c ON c.id = d."customerId"
      WHERE v."storeId" = $1`, [STORE]).finally(() => pg.end());
    const vins = new Set(rows.rows.filter((r) => r.ok).map((r) => r.vin));
    let halfWritten = rows.rows.filter((r) => !r.ok).length;
    for (let i = 0; i < n; i++) if (!vins.has(vinFor(i))) halfWritten++;
    const connection = await Connection.connect({ address: cluster.temporalAddress });
    let notRunning = 0;
    try {
      const client = new Client({ connection });
      for (let i = 0; i < n; i++) {
        const { status } = await client.workflow.getHandle(workflowIdFor(STORE, vinFor(i))).describe().catch(() => ({ status: { name: 'MISSING' } }));
        if (status.name !== 'RUNNING') notRunning++;
      }
    } finally {
      await connection.close();
    }
    return { deliveries: n, kills, sent: mock.accepted().length, duplicates, missing, notRunning, halfWritten, retriedPosts, drainSeconds };
  } catch (err) {
    process.stderr.write(`last lines of the cluster log:\n${tail(path.join(dir, 'cluster.log'), 40)}\n`);
    throw err;
  } finally {
    await cluster.stop();
    await mock.stop();
    if (args.keep) log(`drill: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function drillTable(r: DrillResult): string {
  return markdownTable(
    ['deliveries', 'kills (-9, after N posted)', 'SMS sent', 'duplicates', 'missing', 'workflows not running', 'half-written', 'posts retried', 'time to drain'],
    [[String(r.deliveries), r.kills.join(', '), String(r.sent), String(r.duplicates), String(r.missing), String(r.notRunning), String(r.halfWritten), String(r.retriedPosts), `${fmt(r.drainSeconds)} s`]],
  );
}

if (require.main === module) {
  log(`drill: ${machine()}`);
  runDrill().then(
    (r) => {
      process.stdout.write(`\n## Cluster fault drill\n\n${drillTable(r)}\n\n_${machine()}_\n`);
      const ok = r.duplicates === 0 && r.missing === 0 && r.notRunning === 0 && r.halfWritten === 0 && r.sent === r.deliveries;
      process.exit(ok ? 0 : 1);
    },
    (err: unknown) => {
      process.stderr.write(`drill failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
