import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Config } from '../config';
import { PrismaClient } from '../generated/prisma/client';
import { createLogger } from '../logger';
import { registerPool } from './raw';

export type Db = PrismaClient;

export interface DbDeadlines {
  /** Waiting for a pooled connection, or for a new one to be accepted. */
  connectTimeoutMs: number;
  /** One statement; also how long a transaction may sit idle holding its locks. */
  statementTimeoutMs: number;
}

/** The configuration's defaults, for tools and tests that make their own client. */
export const DEFAULT_DB_DEADLINES: DbDeadlines = { connectTimeoutMs: 10_000, statementTimeoutMs: 10_000 };

export const dbDeadlines = (config: Config): DbDeadlines => ({
  connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
});

/** Margin for the server's own statement timeout to answer before the client gives up on a silent server. */
const SERVER_ANSWER_MARGIN_MS = 2_000;
/** A connection idle longer than this is checked before a query uses it (HikariCP's default is 500 ms). */
const CHECK_AFTER_IDLE_MS = 1_000;

const log = createLogger({ name: 'db' });

type Callback = Parameters<pg.Pool['connect']>[0] & object;

/**
 * A pool that checks a connection which sat idle before lending it. A PostgreSQL restart tells
 * its clients (idle connections error and leave the pool), but a server host that went away or a
 * network device that dropped the connection says nothing, and the first query on it would fail.
 * The check is one `SELECT 1`; a connection that fails it is dropped and the next one taken.
 */
class CheckedPool extends pg.Pool {
  private readonly releasedAt = new WeakMap<pg.PoolClient, number>();

  constructor(config: pg.PoolConfig, private readonly checkTimeoutMs: number) {
    super(config);
    this.on('release', (_err: Error | undefined, client: pg.PoolClient) => this.releasedAt.set(client, Date.now()));
  }

  // pg's own pool.query() asks with a callback; Prisma's transactions with the promise.
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: Callback): void;
  override connect(callback?: Callback): Promise<pg.PoolClient> | void {
    const checked = this.checkedConnection();
    if (!callback) return checked;
    checked.then((client) => callback(undefined, client, client.release), (err: Error) => callback(err, undefined, () => undefined));
  }

  /** Ends: every failed check removes a connection from the pool, and new ones are not checked. */
  private async checkedConnection(): Promise<pg.PoolClient> {
    for (;;) {
      const client = await super.connect();
      const releasedAt = this.releasedAt.get(client);
      if (releasedAt === undefined || Date.now() - releasedAt < CHECK_AFTER_IDLE_MS) return client;
      // A dead socket also emits 'error' on the client, which nobody else listens to while it is lent.
      const ignore = () => undefined;
      client.on('error', ignore);
      try {
        await client.query({ text: 'SELECT 1', query_timeout: this.checkTimeoutMs } as pg.QueryConfig);
        return client;
      } catch (err) {
        client.release(err as Error);
        log.warn({ err: (err as Error).message }, 'dropped a pooled database connection that no longer answered');
        // A server that is slow rather than gone would fail the next check too: the caller hears it.
        if ((err as Error).message === 'Query read timeout') throw err;
      } finally {
        client.removeListener('error', ignore);
      }
    }
  }
}

/**
 * One pooled client per process; Prisma runs its queries through node-postgres (driver-adapter
 * mode). Every call has a deadline: PostgreSQL cancels a slow statement itself, and the client
 * gives up on a server that stopped answering at all (hung, or a network that drops packets), so
 * a request gets an error it can name instead of waiting as long as the outage lasts.
 */
export function createDb(databaseUrl: string, poolSize = 10, deadlines: DbDeadlines = DEFAULT_DB_DEADLINES): Db {
  const pool = new CheckedPool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: deadlines.connectTimeoutMs,
    statement_timeout: deadlines.statementTimeoutMs,
    idle_in_transaction_session_timeout: deadlines.statementTimeoutMs,
    query_timeout: deadlines.statementTimeoutMs + SERVER_ANSWER_MARGIN_MS,
    // TCP keep-alive probes find a peer gone silent under a long query, where the default waits two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idleTimeoutMillis: 30_000,
  }, deadlines.connectTimeoutMs);
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    // An idle connection that dies (PostgreSQL restarted) leaves the pool; the next query opens a new one.
    onPoolError: (err) => log.warn({ err: err.message }, 'dropped a pooled database connection'),
  });
  const db = new PrismaClient({ adapter });
  registerPool(db, pool);
  return db;
}
