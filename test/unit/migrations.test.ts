import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate';
import { adminQuery, createTestDatabase } from '../helpers/db';

/** The database as PostgreSQL's catalog describes it: tables, columns, constraints, indexes. */
async function describeSchema(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query(`
      SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS d
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`);
    const constraints = await client.query(`
      SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS d
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'`);
    const indexes = await client.query(`SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`);
    return [...columns.rows, ...constraints.rows, ...indexes.rows].map((r: { d: string }) => r.d).sort();
  } finally {
    await client.end();
  }
}

describe('database migrations', () => {
  it('build the same database that schema.prisma describes', async () => {
    const migrated = await createTestDatabase();
    const fromSchema = await createTestDatabase({ migrate: false });
    try {
      const sql = execFileSync('npx', ['prisma', 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'prisma/schema.prisma', '--script'], {
        cwd: path.resolve(__dirname, '..', '..'),
        env: { ...process.env, DATABASE_URL: fromSchema.url },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      await adminQuery(fromSchema.url, sql);
      const expected = await describeSchema(fromSchema.url);
      expect(expected.length).toBeGreaterThan(50);
      expect(await describeSchema(migrated.url)).toEqual(expected);
    } finally {
      await migrated.drop();
      await fromSchema.drop();
    }
  });

  it('are recorded in _prisma_migrations as Prisma records them, and applying again changes nothing', async () => {
    const t = await createTestDatabase();
    try {
      expect(await migrate(t.url)).toEqual([]);
      const rows = await t.db.$queryRawUnsafe<{ migration_name: string; applied_steps_count: number; finished_at: Date | null; checksum: string }[]>(
        'SELECT migration_name, applied_steps_count, finished_at, checksum FROM "_prisma_migrations" ORDER BY migration_name');
      expect(rows.map((r) => r.migration_name)).toEqual(readdirSync(MIGRATIONS_DIR).sort());
      for (const r of rows) {
        expect(r.applied_steps_count).toBe(1);
        expect(r.finished_at).not.toBeNull();
        expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      }
    } finally {
      await t.drop();
    }
  });

  it('apply once when several processes start together', async () => {
    const t = await createTestDatabase({ migrate: false });
    try {
      const results = await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url), migrate(t.url)]);
      expect(results.flat().length).toBe(readdirSync(MIGRATIONS_DIR).length);
      const [{ count }] = await t.db.$queryRawUnsafe<{ count: bigint }[]>('SELECT count(*) FROM "_prisma_migrations"');
      expect(Number(count)).toBe(results.flat().length);
    } finally {
      await t.drop();
    }
  });

  it('leave nothing half-applied when a migration fails', async () => {
    const t = await createTestDatabase({ migrate: false });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'huifang-migrations-'));
    for (const [name, sql] of [['1_ok', 'CREATE TABLE a (id int);'], ['2_broken', 'CREATE TABLE b (id int); SELECT no_such_function();']]) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    }
    try {
      await expect(migrate(t.url, dir)).rejects.toThrow(/no_such_function/);
      const tables = await t.db.$queryRawUnsafe<{ n: string }[]>(`SELECT table_name::text AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(tables).toEqual([]);
    } finally {
      await t.drop();
    }
  });

  it('refuse a migration that was edited after it was applied', async () => {
    const t = await createTestDatabase({ migrate: false });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'huifang-migrations-'));
    mkdirSync(path.join(dir, '1_a'));
    writeFileSync(path.join(dir, '1_a', 'migration.sql'), 'CREATE TABLE a (id int);');
    try {
      await migrate(t.url, dir);
      writeFileSync(path.join(dir, '1_a', 'migration.sql'), 'CREATE TABLE a (id bigint);');
      await expect(migrate(t.url, dir)).rejects.toThrow(/edited after it was applied/);
    } finally {
      await t.drop();
    }
  });
});
