import { unavailableDependency } from '../../src/services/errors';
import { createDb } from '../../src/db/client';
import { DatabaseUnreachable, inTransaction, readRows } from '../../src/db/raw';
import { Prisma } from '../../src/generated/prisma/client';
import { adminQuery, createTestDatabase } from '../helpers/db';

/* The hot reads that bypass Prisma (src/db/raw.ts): the same rows, and outages still read as 503s. */

let t: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await t?.drop();
});

const failureOf = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e);

describe('readRows', () => {
  const sql = (at: Date) => Prisma.sql`SELECT ${at}::timestamptz AS at, '["a","b"]'::jsonb AS list, 3::int AS n, NULL::text AS nothing, ${'x'} AS s, true AS yes`;

  it('answers as $queryRaw does, prepared or not, twice on the same connection', async () => {
    const at = new Date('2026-11-28T05:00:00.123Z');
    const expected = await t.db.$queryRaw(sql(at));
    expect(await readRows(t.db, sql(at))).toEqual(expected);
    for (let i = 0; i < 3; i++) expect(await readRows(t.db, sql(at), { prepared: 'test' })).toEqual(expected);
    expect(expected).toEqual([{ at, list: ['a', 'b'], n: 3, nothing: null, s: 'x', yes: true }]);
  });

  it('reports an unreachable server as PostgreSQL unavailable (a 503)', async () => {
    const down = createDb(t.url.replace(/:\d+\//, ':1/'), 1, { connectTimeoutMs: 2000, statementTimeoutMs: 1000 });
    try {
      const err = await failureOf(readRows(down, Prisma.sql`SELECT 1`));
      expect(err).toBeInstanceOf(DatabaseUnreachable);
      expect(unavailableDependency(err)).toBe('postgresql');
    } finally {
      await down.$disconnect();
    }
  });

  it('reports a statement PostgreSQL cancelled for its deadline as unavailable, and a bad statement as a fault (a 500)', async () => {
    const slow = createDb(t.url, 1, { connectTimeoutMs: 2000, statementTimeoutMs: 50 });
    try {
      expect(unavailableDependency(await failureOf(readRows(slow, Prisma.sql`SELECT pg_sleep(1)`)))).toBe('postgresql');
      expect(unavailableDependency(await failureOf(readRows(slow, Prisma.sql`SELECT nonsense FROM nowhere`)))).toBeNull();
    } finally {
      await slow.$disconnect();
    }
  });
});

describe('inTransaction', () => {
  beforeAll(async () => {
    await adminQuery(t.url, 'CREATE TABLE tx_probe (k text PRIMARY KEY)');
  });
  const keys = async () => (await readRows<{ k: string }>(t.db, Prisma.sql`SELECT k FROM tx_probe ORDER BY k`)).map((r) => r.k);

  it('commits what its work wrote, and nothing of work that threw', async () => {
    await inTransaction(t.db, (q) => q(Prisma.sql`INSERT INTO tx_probe VALUES (${'kept'})`));
    const refused = new Error('refused after a write');
    expect(await failureOf(inTransaction(t.db, async (q) => {
      await q(Prisma.sql`INSERT INTO tx_probe VALUES (${'rolled-back'})`);
      throw refused;
    }))).toBe(refused);
    // A unique violation is the driver's error as it is (the delivery's writer tries again on it).
    expect(await failureOf(inTransaction(t.db, (q) => q(Prisma.sql`INSERT INTO tx_probe VALUES (${'kept'})`)))).toMatchObject({ code: '23505' });
    expect(await keys()).toEqual(['kept']);
  });

  it('a connection lost between two statements fails the work as PostgreSQL unavailable, writes nothing, and the pool goes on', async () => {
    const err = await failureOf(inTransaction(t.db, async (q) => {
      await q(Prisma.sql`INSERT INTO tx_probe VALUES (${'lost'})`);
      const [{ pid }] = await q<{ pid: number }>(Prisma.sql`SELECT pg_backend_pid() AS pid`);
      await adminQuery(t.url, `SELECT pg_terminate_backend(${pid})`);
      await q(Prisma.sql`SELECT 1`);
    }));
    expect(unavailableDependency(err)).toBe('postgresql');
    expect(await keys()).toEqual(['kept']);
    expect(await inTransaction(t.db, (q) => q(Prisma.sql`SELECT 1 AS one`))).toEqual([{ one: 1 }]);
  });
});
