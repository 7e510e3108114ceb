import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vinCheckDigit } from '../../src/domain/vin';
import { freeStackPorts } from '../../src/stack';
import { eventually } from '../helpers/stack';

/**
 * `npm start` as a user runs it: a service that crashes comes back while the product keeps
 * serving, and a signal to the PID of `npm start` stops every process it started.
 */
jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes below `pid` (zombies count as gone). */
function descendants(pid: number): { pid: number; command: string }[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      parents.set(Number(ppid), [...(parents.get(Number(ppid)) ?? []), Number(entry)]);
    } catch {
      // gone while we looked
    }
  }
  const found: { pid: number; command: string }[] = [];
  const visit = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      try {
        found.push({ pid: child, command: readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ') });
      } catch {
        continue; // gone meanwhile
      }
      visit(child);
    }
  };
  visit(pid);
  return found;
}

const workerPids = (npmPid: number) => descendants(npmPid).filter((p) => p.command.includes('src/worker.ts')).map((p) => p.pid);

describe('npm start', () => {
  let dataDir: string;
  let npm: ChildProcess;
  let npmExited: Promise<unknown>;
  let output = '';
  let apiUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-npm-start-'));
    const ports = await freeStackPorts();
    apiUrl = `http://127.0.0.1:${ports.api}`;
    const { DATABASE_URL: _db, TEMPORAL_ADDRESS: _t, SMTP_URL: _s, NODE_OPTIONS: _n, ...env } = process.env;
    npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        ...env, DATA_DIR: dataDir, LOG_LEVEL: 'info', TEMPORAL_TASK_QUEUE: `e2e-${path.basename(dataDir)}`,
        EMBEDDED_PG_PORT: String(ports.postgres), TEMPORAL_DEV_PORT: String(ports.temporal), TEMPORAL_UI_PORT: String(ports.temporalUi),
        MAILDEV_SMTP_PORT: String(ports.smtp), MAILDEV_WEB_PORT: String(ports.smtpWeb), API_PORT: String(ports.api),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npmExited = new Promise((resolve) => npm.once('exit', resolve));
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('npm start to be up', async () => (output.includes('Huifang is up') ? true : undefined), 180_000);
  });

  afterAll(async () => {
    const left = npm ? descendants(npm.pid!) : [];
    if (npm?.exitCode === null) npm.kill('SIGKILL');
    for (const { pid } of left) process.kill(pid, 'SIGKILL');
    if (process.env.KEEP_E2E_LOGS) process.stdout.write(output);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a killed worker again and keeps serving', async () => {
    const [worker] = workerPids(npm.pid!);
    expect(worker).toBeDefined();
    process.kill(worker, 'SIGKILL');

    await eventually('a new worker', async () => (output.includes('started again') && workerPids(npm.pid!).length === 1 ? true : undefined), 120_000);
    expect(workerPids(npm.pid!)).not.toContain(worker);

    // The new worker runs the workflow of a delivery posted after the crash.
    const key = readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim();
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const draft = 'LSVAU2180N2077001';
    const res = await fetch(`${apiUrl}/v1/deliveries`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        storeId: 'demo', deliveredAt: new Date().toISOString(),
        customer: { externalId: 'C-1', name: '张伟', phone: '13812345678', contactWindow: { start: '00:00', end: '23:59' } },
        vehicle: { vin: draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9), model: '帕萨特' },
        consultant: { externalId: 'S-01', name: '李娜', phone: '13900001111' },
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await eventually('the thank-you SMS', async () => {
      const got = (await (await fetch(`${apiUrl}/v1/deliveries/${id}`, { headers })).json()) as { messages: { status: string }[] };
      return got.messages.find((m) => m.status === 'sent');
    }, 60_000);
  });

  it('stops every process it started on SIGINT to its PID', async () => {
    const started = descendants(npm.pid!);
    for (const name of ['src/main.ts', 'src/worker.ts', 'src/api/main.ts', 'src/db/embedded-postgres.ts', 'maildev', 'start-dev']) {
      expect(started.some((p) => p.command.includes(name))).toBe(true);
    }
    process.kill(npm.pid!, 'SIGINT');
    await npmExited;
    await eventually('every process to stop', async () => (started.some((p) => alive(p.pid)) ? undefined : true), 30_000);
  });
});
