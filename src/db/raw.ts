/**
 * Hot reads straight through node-postgres, for the few statements that run on nearly every
 * request (the key or session behind a request, an inbox page). Measured in process on this
 * machine, Prisma's own `$queryRaw` spends ~0.6 ms of CPU even on `SELECT 1` (its request
 * pipeline and result mapping) and ~1.5 ms on an inbox page, against ~0.6 ms for the same page
 * through the pool it already holds. Same pool, so the same deadlines and dead-connection checks
 * (src/db/client.ts); statements are still built with `Prisma.sql` (every value a parameter).
 *
 * Rows come as node-postgres gives them: timestamptz -> Date, jsonb parsed, int4 -> number,
 * bigint and numeric as strings (cast in SQL where a number is wanted); uuids are strings.
 * Writes stay with Prisma, but on the hot paths whose Prisma statements cost more CPU than
 * PostgreSQL spends running them: recording a delivery (src/services/deliveries.ts) and sending a
 * message (src/activities/messaging.ts, src/messaging/pace.ts), each statement a prepared one,
 * `inTransaction` where they must commit together.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db } from './client';
import type { Prisma } from '../generated/prisma/client';

const pools = new WeakMap<Db, pg.Pool>();

/**
 * PostgreSQL could not be reached or dropped the connection (no SQLSTATE: a refused or reset
 * socket, no pooled connection in time): what Prisma's adapter reports as DatabaseNotReachable or
 * ConnectionClosed, so the API answers 503 for it alike (src/api/errors.ts).
 */
export class DatabaseUnreachable extends Error {
  constructor(cause: Error) {
    super(`PostgreSQL unreachable: ${cause.message}`, { cause });
    this.name = 'DatabaseUnreachable';
  }
}

/** node-postgres's errors without a SQLSTATE: the socket's (ECONNREFUSED, ECONNRESET...) and its own connection messages. */
function unreachable(err: unknown): err is Error {
  // Read by shape: a socket's error may come from another realm than this module's Error (a test VM).
  const e = err as { code?: unknown; message?: unknown } | null;
  if (err instanceof pg.DatabaseError || typeof e?.message !== 'string') return false;
  return typeof e.code === 'string' || /^(timeout exceeded when trying to connect|Connection terminated|Query read timeout)/.test(e.message);
}

/** Called by createDb: the pool its adapter runs on. */
export function registerPool(db: Db, pool: pg.Pool): void {
  pools.set(db, pool);
}

/**
 * The rows of one read. `prepared` names a statement PostgreSQL keeps parsed and planned per
 * connection (the name is this label and a hash of the text, so each shape of the statement has
 * its own); for a statement whose planning costs more than running it, at hundreds per second.
 */
export async function readRows<T>(db: Db, sql: Prisma.Sql, opts: { prepared?: string } = {}): Promise<T[]> {
  const pool = pools.get(db);
  // A client built elsewhere (a test's own PrismaClient) has no registered pool: Prisma answers alike.
  if (!pool) return db.$queryRawUnsafe<T[]>(sql.text, ...sql.values);
  return rowsOf<T>(pool, sql, opts.prepared);
}

async function rowsOf<T>(on: pg.Pool | pg.PoolClient, sql: Prisma.Sql, prepared?: string): Promise<T[]> {
  const text = sql.text;
  const name = prepared ? `${prepared}-${createHash('sha1').update(text).digest('base64url').slice(0, 12)}` : undefined;
  try {
    const result = await on.query<T & pg.QueryResultRow>({ text, values: sql.values as unknown[], ...(name && { name }) });
    return result.rows;
  } catch (err) {
    throw unreachable(err) ? new DatabaseUnreachable(err) : err;
  }
}

/** A statement of `inTransaction`'s work: its rows, as `readRows` gives them. */
export type TxQuery = <T>(sql: Prisma.Sql, opts?: { prepared?: string }) => Promise<T[]>;

/**
 * `work` in one transaction on one pooled connection: committed when it returns, rolled back
 * when it throws (its error is thrown on). Needs a client made by createDb.
 */
export async function inTransaction<T>(db: Db, work: (query: TxQuery) => Promise<T>): Promise<T> {
  const pool = pools.get(db);
  if (!pool) throw new Error('inTransaction needs a client made by createDb (its pool is registered there)');
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw unreachable(err) ? new DatabaseUnreachable(err) : err;
  }
  const query: TxQuery = (sql, opts = {}) => rowsOf(client, sql, opts.prepared);
  const control = (text: string) => client.query(text).catch((err: unknown) => {
    throw unreachable(err) ? new DatabaseUnreachable(err) : err;
  });
  let broken: Error | undefined;
  // A connection lost between two statements errors the client, which nobody else listens to while it is lent:
  // unheard, that would end the process; heard, the next statement fails and the connection is dropped.
  const lost = (err: Error) => void (broken = err);
  client.on('error', lost);
  try {
    await control('BEGIN');
    const result = await work(query);
    await control('COMMIT');
    return result;
  } catch (err) {
    const lostMeanwhile = broken;
    // A connection that cannot even roll back is dropped, not lent again.
    await client.query('ROLLBACK').catch((e: unknown) => void (broken = e as Error));
    throw lostMeanwhile ? new DatabaseUnreachable(lostMeanwhile) : err;
  } finally {
    client.removeListener('error', lost);
    client.release(broken);
  }
}
