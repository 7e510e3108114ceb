import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDb, Db } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';

/** A fresh, migrated database of its own for one test file, on the run's embedded PostgreSQL. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<{ url: string; db: Db; drop: () => Promise<void> }> {
  const base = process.env.TEST_PG_URL;
  if (!base) throw new Error('TEST_PG_URL is unset: run tests through jest (test/global-setup.ts starts PostgreSQL)');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(base, `CREATE DATABASE ${name}`);
  const url = base.replace(/\/[^/]+$/, `/${name}`);
  if (opts.migrate !== false) await migrate(url);
  const db = createDb(url, 5);
  return {
    url,
    db,
    drop: async () => {
      await db.$disconnect();
      await adminQuery(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
