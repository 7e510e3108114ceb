import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { migrate } from './db/migrate';
import { SEARCH_ATTRIBUTES } from './temporal/connection';
import { temporalBinaries } from './temporal/toolchain';

/**
 * Starts the whole product as child processes: the embedded PostgreSQL, the Temporal dev server,
 * a local SMTP sink (MailDev), the worker and the API, each skipped when the configuration points
 * at an external one. `npm start` (src/main.ts) and the end-to-end tests use the same code.
 * Supervised (`npm start`), a service that dies on its own is started again, after a pause that
 * doubles with each quick failure: a crash loop does not spin, a rare crash costs a second.
 */
const ROOT = path.resolve(__dirname, '..');
const TSX = ['--import', 'tsx'];
/** The dev server's in-memory workflows: a small site's whole fleet (larger sites run a Temporal cluster, docs/SCALING.md). */
const TEMPORAL_CACHED_WORKFLOWS = 20_000;
export const RESTART = { firstDelayMs: 1000, maxDelayMs: 30_000, /** up this long, a crash counts as the first again */ stableMs: 60_000 };

export interface StackOptions {
  dataDir: string;
  env: Record<string, string | undefined>;
  ports: { postgres: number; temporal: number; temporalUi: number; smtp: number; smtpWeb: number; api: number };
  /** Tests run without the Web UIs. */
  headless?: boolean;
  /** The dev server's Prometheus metrics at http://127.0.0.1:<port>/metrics (the benchmarks read Temporal's own counts there). */
  temporalMetricsPort?: number;
  /** Where service output goes: a line printer, or a log file. */
  output: { line: (service: string, line: string) => void } | { file: string };
  /** Leave these to the caller (e.g. a test that kills and restarts the worker itself). */
  skip?: ('worker' | 'api')[];
  /** Start a service again when it exits on its own (`npm start`); tests that kill services themselves leave it off. */
  supervise?: boolean;
}

export interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const running = (s: Service) => s.child.exitCode === null && s.child.signalCode === null;

/**
 * A free port for a service to listen on, picked below the kernel's ephemeral range: a port
 * from that range (what `listen(0)` hands out) can be taken by any outgoing connection between
 * the pick and the service's own listen, which made a test's API exit with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Polls `check` until it holds; a service that is not ready in time is killed (so a supervisor starts it afresh). */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, service?: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service?.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited before it was ready`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  // Not ready in time: gone, so that a supervisor can start it afresh.
  service?.child.kill('SIGKILL');
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s`);
}

const portOpen = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** A free port for each service, for stacks that run beside others (tests, benchmarks). */
export async function freeStackPorts(): Promise<StackOptions['ports']> {
  const picked = new Set<number>();
  const next = async (): Promise<number> => {
    let port = await freePort();
    while (picked.has(port)) port = await freePort();
    picked.add(port);
    return port;
  };
  return { postgres: await next(), temporal: await next(), temporalUi: await next(), smtp: await next(), smtpWeb: await next(), api: await next() };
}

export class Stack {
  readonly services: Service[] = [];
  readonly env: Record<string, string | undefined>;
  private log?: WriteStream;
  private stopping = false;
  private readonly stoppedOnPurpose = new WeakSet<Service>();
  private readonly quickFailures = new Map<string, number>();
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: StackOptions) {
    this.env = { ...opts.env, DATA_DIR: opts.dataDir };
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.opts.ports.api}`;
  }

  /**
   * Starts a service process; its output goes where the options say, line by line. `relaunch`
   * (the method that started it) is what a supervised stack calls when it dies on its own.
   */
  spawnService(name: string, command: string, args: string[], env = this.env, relaunch?: () => Promise<Service>): Service {
    const child = spawn(command, args, { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const write = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.print(name, line);
    };
    child.stdout!.on('data', write);
    child.stderr!.on('data', write);
    const startedAt = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
      resolve(code);
      if (relaunch) this.restartLater(service, code ?? signal, Date.now() - startedAt, relaunch);
    }));
    const service = { name, child, exited };
    // A restarted service takes its predecessor's place, so that stop() keeps the order of start.
    const dead = this.services.findIndex((s) => s.name === name && !running(s));
    if (dead >= 0) this.services[dead] = service;
    else this.services.push(service);
    return service;
  }

  private restartLater(service: Service, exit: number | string | null, ranMs: number, relaunch: () => Promise<Service>): void {
    if (!this.opts.supervise || this.stopping || this.stoppedOnPurpose.has(service)) return;
    const failures = ranMs > RESTART.stableMs ? 0 : (this.quickFailures.get(service.name) ?? 0) + 1;
    this.quickFailures.set(service.name, failures);
    const delayMs = Math.min(RESTART.maxDelayMs, RESTART.firstDelayMs * 2 ** Math.max(0, failures - 1));
    this.print(service.name, `exited (${exit}); starting it again in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(timer);
      if (this.stopping) return;
      // A launch that fails has killed its process (waitFor), whose exit schedules the next try.
      relaunch().then(
        () => this.print(service.name, 'started again'),
        (err: unknown) => this.stopping || this.print(service.name, `could not start again: ${err instanceof Error ? err.message : String(err)}`),
      );
    }, delayMs);
    this.pendingRestarts.add(timer);
  }

  private print(name: string, line: string): void {
    const out = this.opts.output;
    if ('file' in out) this.logStream().write(`[${name}] ${line}\n`);
    else out.line(name, line);
  }

  private logStream(): WriteStream {
    if (!this.log) {
      const file = (this.opts.output as { file: string }).file;
      mkdirSync(path.dirname(file), { recursive: true });
      this.log = createWriteStream(file, { flags: 'a' });
    }
    return this.log;
  }

  async start(): Promise<void> {
    const { ports, dataDir } = this.opts;
    mkdirSync(dataDir, { recursive: true });
    if (!this.env.DATABASE_URL) await this.startPostgres();
    await migrate(this.env.DATABASE_URL!);
    if (!this.env.TEMPORAL_ADDRESS) await this.startTemporal();
    if (!this.env.SMTP_URL) await this.startMaildev();
    this.env.API_PORT = String(ports.api);
    if (!this.opts.skip?.includes('worker')) await this.startWorker();
    if (!this.opts.skip?.includes('api')) await this.startApi();
  }

  private async startPostgres(): Promise<Service> {
    const env = { ...this.env, EMBEDDED_PG_PORT: String(this.opts.ports.postgres) };
    const pg = this.spawnService('postgres', process.execPath, [...TSX, 'src/db/embedded-postgres.ts'], env, () => this.startPostgres());
    let url: string | undefined;
    pg.child.stdout!.on('data', (chunk: Buffer) => (url ??= /READY (\S+)/.exec(chunk.toString())?.[1]));
    await waitFor('embedded PostgreSQL', async () => url !== undefined, 60_000, pg);
    this.env.DATABASE_URL = url;
    return pg;
  }

  /** Starts the embedded Temporal dev server (again, after a test stopped it: same port and state file). */
  async startTemporal(): Promise<Service> {
    const { ports, dataDir } = this.opts;
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(ports.temporal),
      '--db-filename', path.join(dataDir, 'temporal.sqlite'), '--log-level', 'warn',
      // SQLite's write-ahead log about doubles the dev server's throughput here (bench/ingest.ts).
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
      // Workflows whose state the server keeps in memory (the dev server's default is 8,096). A wake-up
      // beyond it reads the workflow back from SQLite at each step: a burst of 3,000 reminders against
      // a cache of 1,000 read 5.3 executions per reminder instead of 0.1 (bench/burst.ts, the server's
      // persistence_requests). 10,000 due at once overran the default: Temporal 37 -> 29 ms of CPU
      // per reminder with this, the drain 396 -> 321 s.
      '--dynamic-config-value', `history.hostLevelCacheMaxSize=${TEMPORAL_CACHED_WORKFLOWS}`,
      ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
      ...(this.opts.temporalMetricsPort ? ['--metrics-port', String(this.opts.temporalMetricsPort)] : [])];
    args.push(...(this.opts.headless ? ['--headless'] : ['--ui-port', String(ports.temporalUi)]));
    const temporal = this.spawnService('temporal', temporalBinaries().cli, args, this.env, () => this.startTemporal());
    this.env.TEMPORAL_ADDRESS = `127.0.0.1:${ports.temporal}`;
    await waitFor('Temporal dev server', async () => {
      const connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS!, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: this.env.TEMPORAL_NAMESPACE ?? 'default' });
        return true;
      } finally {
        await connection.close();
      }
    }, 60_000, temporal);
    return temporal;
  }

  private async startMaildev(): Promise<Service> {
    const { ports, dataDir } = this.opts;
    const args = ['--smtp', String(ports.smtp), '--ip', '127.0.0.1', '--silent', '--mail-directory', path.join(dataDir, 'mail')];
    args.push(...(this.opts.headless ? ['--disable-web'] : ['--web', String(ports.smtpWeb), '--web-ip', '127.0.0.1']));
    const maildev = this.spawnService('maildev', process.execPath, [path.join(ROOT, 'node_modules', 'maildev', 'dist', 'bin', 'maildev.js'), ...args], this.env, () => this.startMaildev());
    this.env.SMTP_URL = `smtp://127.0.0.1:${ports.smtp}`;
    await waitFor('MailDev', portOpen(ports.smtp), 30_000, maildev);
    return maildev;
  }

  /** `name` and `env` tell replicas apart (the cluster profile runs two, with their own metrics ports). */
  async startWorker(name = 'worker', env = this.env): Promise<Service> {
    // A bounded heap makes V8 collect evicted workflows' garbage early instead of growing toward its default limit.
    const worker = this.spawnService(name, process.execPath, ['--max-old-space-size=256', ...TSX, 'src/worker.ts'], env, () => this.startWorker(name, env));
    let ready = false;
    worker.child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker started')) ready = true;
    });
    await waitFor(name, async () => ready, 90_000, worker);
    return worker;
  }

  async startApi(name = 'api', port = this.opts.ports.api, env = this.env): Promise<Service> {
    const api = this.spawnService(name, process.execPath, [...TSX, 'src/api/main.ts'], { ...env, API_PORT: String(port) }, () => this.startApi(name, port, env));
    await waitFor(name, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 60_000, api);
    return api;
  }

  /** Stops one service: SIGTERM, then SIGKILL if it is still there after the grace period. */
  async stopService(service: Service, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    this.stoppedOnPurpose.add(service);
    if (running(service)) {
      service.child.kill(signal);
      const timer = setTimeout(() => service.child.kill('SIGKILL'), graceMs);
      await service.exited;
      clearTimeout(timer);
    }
    this.services.splice(this.services.indexOf(service), 1);
  }

  /** Stops everything in reverse order of start, so the database goes last. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    for (const service of [...this.services].reverse()) await this.stopService(service);
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }
}
