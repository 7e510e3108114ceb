import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { packagedPostgres, startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { freePort } from '../../src/stack';

/**
 * Containers and CI run as root, often from a clone only root may enter (`mktemp -d`, `/root`):
 * PostgreSQL then runs as the `postgres` user, which cannot reach anything inside that clone.
 */
const asRoot = process.getuid?.() === 0;

(asRoot ? describe : describe.skip)('embedded PostgreSQL as root', () => {
  let privateDir: string;
  beforeAll(() => {
    privateDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-private-')); // mode 0700, like a `mktemp -d` clone
  });
  afterAll(() => rmSync(privateDir, { recursive: true, force: true }));

  test('starts from a package and a data folder that only root may enter, and keeps its data across restarts', async () => {
    const packaged = path.join(privateDir, 'node_modules', 'linux-x64', 'native');
    cpSync(path.dirname(packagedPostgres()), path.dirname(packaged), { recursive: true, verbatimSymlinks: true });
    const dataDir = path.join(privateDir, '.data');
    const port = await freePort();
    const query = async (sql: string) => {
      const client = new Client({ connectionString: `postgresql://huifang:huifang@127.0.0.1:${port}/huifang` });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };

    const first = await startEmbeddedPostgres({ dataDir, port, packaged });
    try {
      await query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)');
    } finally {
      await first.stop();
    }
    const link = path.join(dataDir, 'postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const cluster = readlinkSync(link);
    try {
      const second = await startEmbeddedPostgres({ dataDir, port, packaged });
      try {
        expect(await query('SELECT id FROM kept')).toEqual([{ id: 1 }]);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(cluster, { recursive: true, force: true });
    }
  });
});

/** Alive and not a zombie (a container's PID 1 may never reap the orphan once it exits). */
function running(pid: number): boolean {
  const stat = path.join('/proc', String(pid), 'stat');
  return existsSync(stat) && readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
}

test('a wrapper killed with SIGKILL leaves PostgreSQL running: the next start stops that orphan and starts on the same data', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-orphan-'));
  const port = await freePort();
  const root = path.resolve(__dirname, '..', '..');
  const wrapper = spawn(process.execPath, ['--import', 'tsx', 'src/db/embedded-postgres.ts'], {
    cwd: root, env: { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let orphan = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      wrapper.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && resolve());
      wrapper.once('exit', (code) => reject(new Error(`the wrapper exited (${code}) before it was ready`)));
    });
    orphan = Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    wrapper.kill('SIGKILL');
    await new Promise((resolve) => wrapper.once('exit', resolve));
    expect(running(orphan)).toBe(true); // the orphan the old code left for good

    const again = await startEmbeddedPostgres({ dataDir, port });
    try {
      expect(running(orphan)).toBe(false);
      const client = new Client({ connectionString: again.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await again.stop();
    }
  } finally {
    wrapper.kill('SIGKILL');
    if (orphan && running(orphan)) process.kill(orphan, 'SIGKILL');
    const linked = lstatSync(path.join(dataDir, 'postgres'), { throwIfNoEntry: false });
    if (linked?.isSymbolicLink()) rmSync(readlinkSync(path.join(dataDir, 'postgres')), { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
