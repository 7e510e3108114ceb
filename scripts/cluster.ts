import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { z } from 'zod';
import { freePort, Service, Stack, StackOptions, waitFor } from '../src/stack';
import { SEARCH_ATTRIBUTES } from '../src/temporal/connection';
import { messagingTaskQueue } from '../src/workflows/contract';

/**
 * The production topology on one machine: a real Temporal server (all four services in one
 * process, built from the Go module proxy) on PostgreSQL with several history shards, and several
 * workers and API replicas of ours against it and a PostgreSQL reached by URL. Everything runs in
 * one supervised Stack (src/stack.ts), so a process that dies is started again, as a process
 * manager does on real hosts. `npm run cluster` runs it; bench/drill.ts and bench/cluster.ts
 * start it on free ports.
 */
const ROOT = path.resolve(__dirname, '..');
const TEMPORAL_VERSION = 'v1.29.1';
const TEMPORAL_MODULE = 'go.temporal.io/server';
const TOOLS = path.join(ROOT, '.tools', `temporal-server-${TEMPORAL_VERSION}`);
const run = promisify(execFile);

export interface ClusterPorts {
  /** Temporal's frontend (gRPC), the address workers and APIs connect to */
  temporal: number;
  temporalHttp: number;
  history: number;
  matching: number;
  temporalWorker: number;
  /** gossip between the Temporal services: frontend, history, matching, worker */
  membership: [number, number, number, number];
  /** the Temporal server's own Prometheus endpoint */
  temporalMetrics: number;
  /** the embedded PostgreSQL that holds Temporal's databases (unless TEMPORAL_DB_URL) */
  temporalPostgres: number;
  /** the embedded PostgreSQL of our data (unless DATABASE_URL) */
  postgres: number;
  smtp: number;
  smtpWeb: number;
  apis: number[];
  /** one Prometheus endpoint per API replica (request durations) */
  apiMetrics: number[];
  /** one Prometheus endpoint per worker (the SDK's metrics) */
  workerMetrics: number[];
}

export interface ClusterOptions {
  dir: string;
  ports: ClusterPorts;
  historyShards: number;
  /** Environment of our processes: DATABASE_URL (external), Twilio, log level... */
  env: Record<string, string | undefined>;
  /** postgresql://user:pass@host:port of a server for Temporal's databases; else an embedded one in `dir`. */
  temporalDbUrl?: string;
  output: StackOptions['output'];
  supervise: boolean;
}

/** Defaults of `npm run cluster`: Temporal's usual ports, our API on 3000 and 3001. */
export function defaultClusterPorts(replicas: { workers: number; apis: number }): ClusterPorts {
  return {
    temporal: 7233, temporalHttp: 7243, history: 7234, matching: 7235, temporalWorker: 7239,
    membership: [6933, 6934, 6935, 6939], temporalMetrics: 8000, temporalPostgres: 54339,
    postgres: 54329, smtp: 1025, smtpWeb: 1080,
    apis: Array.from({ length: replicas.apis }, (_, i) => 3000 + i),
    apiMetrics: Array.from({ length: replicas.apis }, (_, i) => 9564 + i),
    workerMetrics: Array.from({ length: replicas.workers }, (_, i) => 9464 + i),
  };
}

/** Temporal keeps membership ports in a smallint column: a free port below 32768 (the kernel hands out higher ones). */
async function lowFreePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Free ports for every listener, for clusters that run beside other work (benchmarks, drills). */
export async function freeClusterPorts(replicas: { workers: number; apis: number }): Promise<ClusterPorts> {
  const ports = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await freePort());
    return out;
  };
  const [temporalPort, temporalHttp, history, matching, temporalWorker, temporalMetrics, temporalPostgres, postgres, smtp, smtpWeb] = await ports(10);
  const membership: number[] = [];
  while (membership.length < 4) {
    const port = await lowFreePort();
    if (!membership.includes(port)) membership.push(port);
  }
  return {
    temporal: temporalPort, temporalHttp, history, matching, temporalWorker, membership: membership as ClusterPorts['membership'], temporalMetrics,
    temporalPostgres, postgres, smtp, smtpWeb, apis: await ports(replicas.apis), apiMetrics: await ports(replicas.apis), workerMetrics: await ports(replicas.workers),
  };
}

// ---------------------------------------------------------------------------------------------
// The Temporal server binaries

export interface TemporalServerBinaries {
  server: string;
  sql: string;
  /** the module's source folder: schema migrations */
  moduleDir: string;
}

/**
 * `server` and its `sql` schema tool, built with `go install` into `.tools/` the first time (3-6
 * minutes on 2 cores) and reused after; the module's schema files come from Go's module cache.
 */
export async function temporalServerBinaries(log: (line: string) => void): Promise<TemporalServerBinaries> {
  const bin = path.join(TOOLS, 'bin');
  const server = path.join(bin, 'server');
  const sql = path.join(bin, 'sql');
  if (!existsSync(server) || !existsSync(sql)) {
    log(`building the Temporal server ${TEMPORAL_VERSION} with go install (the first time takes a few minutes)`);
    const started = Date.now();
    await run('go', ['install', `${TEMPORAL_MODULE}/cmd/server@${TEMPORAL_VERSION}`, `${TEMPORAL_MODULE}/cmd/tools/sql@${TEMPORAL_VERSION}`], {
      env: { ...process.env, GOBIN: bin }, maxBuffer: 16 * 1024 * 1024,
    });
    log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  // Outside a Go module, `go mod download` answers from (or fills) the module cache.
  const { stdout } = await run('go', ['mod', 'download', '-json', `${TEMPORAL_MODULE}@${TEMPORAL_VERSION}`], { env: { ...process.env, GOFLAGS: '-mod=mod' }, cwd: TOOLS });
  const { Dir: moduleDir } = z.object({ Dir: z.string() }).parse(JSON.parse(stdout));
  return { server, sql, moduleDir };
}

// ---------------------------------------------------------------------------------------------
// Temporal's databases and configuration

interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

function pgTarget(url: string): PgTarget {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/** Creates Temporal's two databases if missing and brings their schemas to this server version (idempotent). */
async function setUpTemporalSchemas(bins: TemporalServerBinaries, db: PgTarget): Promise<void> {
  for (const { name, schema } of TEMPORAL_DATABASES) {
    const sql = (args: string[]) => run(bins.sql, ['--plugin', 'postgres12', '--ep', db.host, '-p', String(db.port), '-u', db.user, '--db', name, ...args], {
      // The password in the environment, not on a command line that `ps` shows.
      env: { ...process.env, SQL_PASSWORD: db.password },
    });
    const admin = new PgClient({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'postgres' });
    await admin.connect();
    let exists: boolean;
    try {
      exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    } finally {
      await admin.end();
    }
    if (!exists) await sql(['create-database']);
    const conn = new PgClient({ host: db.host, port: db.port, user: db.user, password: db.password, database: name });
    await conn.connect();
    let versioned: boolean;
    try {
      versioned = (await conn.query(`SELECT to_regclass('schema_version') IS NOT NULL AS v`)).rows[0].v as boolean;
    } finally {
      await conn.end();
    }
    if (!versioned) await sql(['setup-schema', '-v', '0.0']);
    await sql(['update-schema', '-d', path.join(bins.moduleDir, 'schema', 'postgresql', 'v12', schema, 'versioned')]);
  }
}

/**
 * The server's configuration, written as JSON (which YAML reads): the shape of the module's
 * config/development-postgres12.yaml with our ports, database and shard count.
 */
function writeTemporalConfig(dir: string, ports: ClusterPorts, db: PgTarget, historyShards: number): void {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12', databaseName, connectAddr: `${db.host}:${db.port}`, connectProtocol: 'tcp',
      user: db.user, password: db.password, maxConns, maxIdleConns: maxConns, maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra = {}) => ({ rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra } });
  const [mFrontend, mHistory, mMatching, mWorker] = ports.membership;
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default', visibilityStore: 'visibility', numHistoryShards: historyShards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: 0 },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.temporalMetrics}` } },
    },
    services: {
      frontend: service(ports.temporal, mFrontend, { httpPort: ports.temporalHttp }),
      history: service(ports.history, mHistory),
      matching: service(ports.matching, mMatching),
      worker: service(ports.temporalWorker, mWorker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false, failoverVersionIncrement: 10, masterClusterName: 'active', currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.temporal}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: path.join(dir, 'config', 'dynamicconfig.yaml'), pollInterval: '10s' },
  };
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  writeFileSync(path.join(dir, 'config', 'cluster.yaml'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // A new namespace and search attributes are usable within a second instead of the 10 s default.
  writeFileSync(path.join(dir, 'config', 'dynamicconfig.yaml'), [
    'system.namespaceCacheRefreshInterval:', '  - value: 1s',
    'system.forceSearchAttributesCacheRefreshOnRead:', '  - value: true',
    'limit.maxIDLength:', '  - value: 255', '',
  ].join('\n'));
}

/** The namespace (7 days' retention of closed workflows) and our search attributes, registered once. */
async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const described = await connection.workflowService.describeNamespace({ namespace }).catch(() => undefined);
    if (!described) {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') });
    }
    // A new namespace is usable once the frontend's namespace cache has it (about a second here).
    let customAttributes: Record<string, unknown> | null | undefined;
    await waitFor(`namespace ${namespace}`, async () => {
      ({ customAttributes } = await connection.operatorService.listSearchAttributes({ namespace }));
      return true;
    }, 30_000);
    const missing = SEARCH_ATTRIBUTES.filter((key) => !customAttributes?.[key.name]);
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
      });
    }
    // Registered once a visibility query on them answers.
    await waitFor('search attributes', async () => {
      await connection.workflowService.countWorkflowExecutions({ namespace, query: `${SEARCH_ATTRIBUTES[0].name} = 'x'` });
      return true;
    }, 30_000);
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The cluster

const READY = /READY (\S+)/;

export class Cluster {
  readonly stack: Stack;
  /** The Temporal server process, for drills that kill it. */
  temporal?: Service;
  private bins?: TemporalServerBinaries;

  constructor(readonly opts: ClusterOptions) {
    const { ports } = opts;
    this.stack = new Stack({
      dataDir: opts.dir,
      // Our processes reach Temporal by address, as they would a cluster on other hosts.
      env: { ...opts.env, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}` },
      ports: { postgres: ports.postgres, temporal: ports.temporal, temporalUi: 0, smtp: ports.smtp, smtpWeb: ports.smtpWeb, api: ports.apis[0] },
      headless: true,
      output: opts.output,
      // Workers and APIs are started here, as replicas.
      skip: ['worker', 'api'],
      supervise: opts.supervise,
    });
  }

  get apiUrls(): string[] {
    return this.opts.ports.apis.map((port) => `http://127.0.0.1:${port}`);
  }

  get temporalAddress(): string {
    return `127.0.0.1:${this.opts.ports.temporal}`;
  }

  /** A running service by name (`worker-1`, `api-2`, `temporal`...). */
  service(name: string): Service | undefined {
    return this.stack.services.find((s) => s.name === name && s.child.exitCode === null && s.child.signalCode === null);
  }

  async start(log: (line: string) => void = () => undefined): Promise<void> {
    const { dir, ports } = this.opts;
    mkdirSync(dir, { recursive: true });
    this.bins = await temporalServerBinaries(log);
    // Our database (embedded unless DATABASE_URL), migrations, mail sink: as `npm start` does.
    await this.stack.start();
    const db = pgTarget(this.opts.temporalDbUrl ?? await this.startTemporalPostgres());
    await setUpTemporalSchemas(this.bins, db);
    writeTemporalConfig(dir, ports, db, this.opts.historyShards);
    this.temporal = await this.startTemporal();
    await registerNamespace(this.temporalAddress, this.opts.env.TEMPORAL_NAMESPACE ?? 'default');
    log(`Temporal ${TEMPORAL_VERSION} up with ${this.opts.historyShards} history shards`);
    // Replicas start one after the other: on a small machine their bundling and start-up compete.
    for (let i = 0; i < ports.workerMetrics.length; i++) await this.startWorker(i);
    for (const [i, port] of ports.apis.entries()) {
      await this.stack.startApi(`api-${i + 1}`, port, { ...this.stack.env, API_METRICS_ADDRESS: `127.0.0.1:${ports.apiMetrics[i]}` });
    }
  }

  /** Worker `index` (0-based), named `worker-<index + 1>`, with its own metrics port. */
  startWorker(index: number): Promise<Service> {
    return this.stack.startWorker(`worker-${index + 1}`, { ...this.stack.env, WORKER_METRICS_ADDRESS: `127.0.0.1:${this.opts.ports.workerMetrics[index]}` });
  }

  private async startTemporalPostgres(): Promise<string> {
    const env = { ...this.stack.env, DATA_DIR: path.join(this.opts.dir, 'temporal-db'), EMBEDDED_PG_PORT: String(this.opts.ports.temporalPostgres) };
    const start = async (): Promise<Service> => {
      const pg = this.stack.spawnService('temporal-postgres', process.execPath, ['--import', 'tsx', 'src/db/embedded-postgres.ts'], env, start);
      let ready = false;
      pg.child.stdout!.on('data', (chunk: Buffer) => (ready ||= READY.test(chunk.toString())));
      await waitFor('Temporal\'s PostgreSQL', async () => ready, 60_000, pg);
      return pg;
    };
    await start();
    // The embedded server's superuser; Temporal's databases live beside its own.
    return `postgresql://huifang:huifang@127.0.0.1:${this.opts.ports.temporalPostgres}`;
  }

  /** Starts (or, from the supervisor, restarts) the Temporal server; ready once its frontend answers. */
  async startTemporal(): Promise<Service> {
    const bins = this.bins!;
    const service = this.stack.spawnService('temporal', bins.server,
      ['--root', this.opts.dir, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'],
      this.stack.env, () => this.startTemporal().then((s) => (this.temporal = s)));
    await waitFor('Temporal server', async () => {
      const connection = await Connection.connect({ address: this.temporalAddress, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    }, 120_000, service);
    return service;
  }

  stop(): Promise<void> {
    return this.stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// npm run cluster

const positive = z.coerce.number().int().min(1);
const ClusterEnv = z.object({
  DATA_DIR: z.string().min(1).default(path.join(ROOT, '.data')),
  CLUSTER_WORKERS: positive.max(16).default(2),
  CLUSTER_APIS: positive.max(16).default(2),
  /** Fixed when the cluster's database is created: pick 512 or more for millions of vehicles. */
  CLUSTER_HISTORY_SHARDS: positive.max(16384).default(8),
  TEMPORAL_DB_URL: z.url().refine((v) => /^postgres(ql)?:/.test(v), 'must start with postgresql://').optional(),
  LOG_LEVEL: z.string().default('info'),
});

async function main(): Promise<void> {
  const parsed = ClusterEnv.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v)));
  if (!parsed.success) {
    process.stderr.write(`Invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}\n`);
    process.exit(78);
  }
  const env = parsed.data;
  const dir = path.join(env.DATA_DIR, 'cluster');
  const ports = defaultClusterPorts({ workers: env.CLUSTER_WORKERS, apis: env.CLUSTER_APIS });
  const say = (line: string) => process.stdout.write(`cluster  ${line}\n`);
  const cluster = new Cluster({
    dir, ports, historyShards: env.CLUSTER_HISTORY_SHARDS, temporalDbUrl: env.TEMPORAL_DB_URL, supervise: true,
    env: { ...process.env, DATA_DIR: dir, TEMPORAL_ADDRESS: undefined, PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${ports.apis[0]}` },
    output: { line: (service, line) => process.stdout.write(`${service.padEnd(17)} ${line}\n`) },
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    await cluster.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  const started = Date.now();
  try {
    await cluster.start(say);
  } catch (err) {
    say(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
    return;
  }
  const queue = cluster.stack.env.TEMPORAL_TASK_QUEUE ?? 'huifang';
  process.stdout.write([
    '',
    `Huifang cluster is up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `  Temporal       127.0.0.1:${ports.temporal} (${env.CLUSTER_HISTORY_SHARDS} history shards; Prometheus http://127.0.0.1:${ports.temporalMetrics}/metrics)`,
    `  its database   ${env.TEMPORAL_DB_URL ? 'TEMPORAL_DB_URL (external)' : `embedded PostgreSQL on 127.0.0.1:${ports.temporalPostgres}, data in ${path.join(dir, 'temporal-db')}`}`,
    `  our database   ${process.env.DATABASE_URL ? 'DATABASE_URL (external)' : `embedded PostgreSQL on 127.0.0.1:${ports.postgres}`}`,
    `  workers        ${ports.workerMetrics.map((p, i) => `worker-${i + 1} (metrics http://127.0.0.1:${p}/metrics)`).join(', ')}`,
    // Every worker process polls both queues; the SMS pace (SMS_RATE_PER_SECOND) holds for them together.
    `  task queues    ${queue} and ${messagingTaskQueue(queue)} (customer messages, paced)`,
    `  API replicas   ${cluster.apiUrls.map((url, i) => `${url} (metrics http://127.0.0.1:${ports.apiMetrics[i]}/metrics)`).join(', ')}`,
    `A store and an API key: DATABASE_URL=${cluster.stack.env.DATABASE_URL} npm run admin -- create-store ... (README, Production).`,
    'Ctrl-C stops it all.',
    '',
  ].join('\n'));
}

if (require.main === module) void main();
