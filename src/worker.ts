import { Client, Connection } from '@temporalio/client';
import { LogLevel, LogMetadata, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { createMessagingActivities } from './activities/messaging';
import { syncAllDigestSchedules } from './services/digest-schedules';
import { loadConfig } from './config';
import { createDb, dbDeadlines } from './db/client';
import { createLogger, Logger } from './logger';
import { businessMetricsInterceptor } from './metrics';
import { createTransports } from './messaging';
import { createSendPace, SEND_PACE_MAX_WAIT_MS } from './messaging/pace';
import { workflowBundlerOptions } from './temporal/bundle';
import { temporalConnectionOptions } from './temporal/connection';
import { startTracing, workerTracing } from './tracing';
import { messagingTaskQueue } from './workflows/contract';

/**
 * The SDK's own logs (including workflow `log` calls) go through our pino logger, as JSON like the
 * rest; with an address, the SDK serves its metrics there for Prometheus (schedule-to-start
 * latencies, sticky cache, slots, and the business counters of src/metrics.ts).
 */
function installRuntime(logger: Logger, metricsAddress: string | undefined): void {
  const sdk = logger.child({ component: 'temporal-sdk' });
  const forward = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const { sdkComponent: _c, taskQueue: _q, ...rest } = meta ?? {};
    // The workflow bundler reports its webpack statistics at INFO, and the messaging worker warns that it
    // has no workflows (by design): noise outside debugging.
    const quiet = message.startsWith('asset workflow-bundle') || message.startsWith('No workflows registered');
    const pinoLevel = level === 'TRACE' ? 'trace' : level === 'DEBUG' || quiet ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error';
    sdk[pinoLevel](rest, message);
  };
  Runtime.install({
    logger: {
      log: forward,
      trace: (m, meta) => forward('TRACE', m, meta),
      debug: (m, meta) => forward('DEBUG', m, meta),
      info: (m, meta) => forward('INFO', m, meta),
      warn: (m, meta) => forward('WARN', m, meta),
      error: (m, meta) => forward('ERROR', m, meta),
    },
    ...(metricsAddress && { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } }),
  });
}

const SCHEDULE_SYNC_INTERVAL_MS = 15 * 60_000;

/**
 * The Temporal worker: runs the workflows and the activities (all I/O) on the main task queue, and
 * the customer messages on the messaging task queue beside it, paced for the provider.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
  installRuntime(logger, config.WORKER_METRICS_ADDRESS);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL: required by the worker (npm start provides it)');
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, dbDeadlines(config));
  const transports = createTransports(config);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const tracing = startTracing(config, 'huifang-worker');
  const traced = tracing && workerTracing(tracing);
  // Activities start workflows (a case's own) through a client of their own.
  const clientConnection = Connection.lazy(temporalConnectionOptions(config));
  const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const smsPace = createSendPace(db, { key: 'sms', perSecond: config.SMS_RATE_PER_SECOND, counts: config.SMS_RATE_COUNTS, maxWaitMs: SEND_PACE_MAX_WAIT_MS });
  const deps = {
    db, ...transports, publicBaseUrl: config.PUBLIC_BASE_URL, logger, messageCapPerDay: config.MESSAGE_CAP_PER_DAY,
    temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, smsPace,
  };
  const activityInterceptors = [businessMetricsInterceptor(Runtime.instance().metricMeter), ...(traced?.activityInterceptors ?? [])];
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    // The SDK's default cache (thousands of workflows) is sized for short workflows; ours sleep for
    // days, and holding them all grew one worker past 4 GB at 2,000 vehicles (bench/idle.ts).
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    bundlerOptions: workflowBundlerOptions(),
    interceptors: { activity: activityInterceptors, workflowModules: traced?.workflowModules ?? [] },
    ...(traced && { sinks: traced.sinks }),
    // All of them, sendMessage included: workflows started before v6 still send on this queue.
    activities: createActivities(deps),
  });
  // The pace is the database's, shared by every worker; the concurrency bounds how far ahead this one books it.
  const messagingWorker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: messagingTaskQueue(config.TEMPORAL_TASK_QUEUE),
    maxConcurrentActivityTaskExecutions: config.MESSAGING_WORKER_CONCURRENCY,
    interceptors: { activity: activityInterceptors },
    activities: createMessagingActivities(deps),
  });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, messagingTaskQueue: messagingTaskQueue(config.TEMPORAL_TASK_QUEUE), namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
  // Stores made by the admin CLI or npm start, or changed while Temporal was down, get their digest
  // schedule now and within the quarter hour after (the API syncs a store's own changes at once).
  const syncSchedules = () => syncAllDigestSchedules(db, temporal, config.TEMPORAL_TASK_QUEUE).then(
    (stores) => logger.debug({ stores }, 'digest schedules synced'),
    (err: unknown) => logger.error({ err: (err as Error).message }, 'digest schedules not synced'),
  );
  void syncSchedules();
  const resync = setInterval(() => void syncSchedules(), SCHEDULE_SYNC_INTERVAL_MS);
  try {
    await Promise.all([worker.run(), messagingWorker.run()]); // both return after SIGINT/SIGTERM once in-flight tasks are done
  } finally {
    clearInterval(resync);
    await Promise.all([connection.close(), clientConnection.close(), db.$disconnect(), transports.sms.close?.(), transports.email.close?.(), tracing?.shutdown()]);
    logger.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
