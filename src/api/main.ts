import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { createDb, dbDeadlines } from '../db/client';
import { createLogger } from '../logger';
import { reconcileWorkflowStarts } from '../services/deliveries';
import { apiRegistry, serveMetrics } from '../metrics-api';
import { temporalConnectionOptions } from '../temporal/connection';
import { clientTracingInterceptors, startTracing } from '../tracing';
import { buildServer } from './server';

/** How often the API looks for deliveries whose workflow an outage left unstarted. */
const RECONCILE_EVERY_MS = 10_000;

/** The HTTP API process: `npm run api` in production, started by `npm start` by default. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL: required by the API (npm start provides it)');
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, dbDeadlines(config));
  // Lazy: the API starts and answers (503 where Temporal is needed, /health/ready says why) while Temporal is down.
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const tracing = startTracing(config, 'huifang-api');
  // With tracing on, a workflow's start, updates and signals carry the request's trace to the worker.
  const temporal = new Client({
    connection, namespace: config.TEMPORAL_NAMESPACE,
    ...(tracing && { interceptors: clientTracingInterceptors() }),
  });
  const app = await buildServer({ config, db, temporal });
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  const metrics = config.API_METRICS_ADDRESS ? await serveMetrics(config.API_METRICS_ADDRESS, apiRegistry) : undefined;
  const stopReconciler = reconcileWorkflowStarts({ db, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, {
    everyMs: RECONCILE_EVERY_MS,
    graceMs: config.TEMPORAL_REQUEST_TIMEOUT_MS,
    startTimeoutMs: config.TEMPORAL_REQUEST_TIMEOUT_MS,
    log: createLogger({ name: 'reconciler', level: config.LOG_LEVEL }),
  });

  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await app.close(); // stops accepting, lets in-flight requests finish
    metrics?.close();
    await tracing?.shutdown(); // sends the last spans
    await stopReconciler();
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
