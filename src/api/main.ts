import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { createDb } from '../db/client';
import { temporalConnectionOptions } from '../temporal/connection';
import { buildServer } from './server';

/** The HTTP API process: `npm run api` in production, started by `npm start` by default. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL: required by the API (npm start provides it)');
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = await buildServer({ config, db, temporal });
  await app.listen({ host: config.API_HOST, port: config.API_PORT });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await app.close(); // stops accepting, lets in-flight requests finish
    await Promise.all([connection.close(), db.$disconnect()]);
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
