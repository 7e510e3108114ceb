import { cpSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
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
