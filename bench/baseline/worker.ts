/**
 * The baseline's worker, a process of its own like the product's (src/worker.ts) and with the
 * same worker options (the SDK's defaults), on its own task queue and bundle.
 * Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BENCH_TASK_QUEUE.
 */
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as activities from './activities';

async function main(): Promise<void> {
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) } });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const worker = await Worker.create({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: process.env.BENCH_TASK_QUEUE ?? 'bench-baseline',
    workflowsPath: require.resolve('./workflows'),
    activities,
  });
  process.stdout.write('baseline worker started\n');
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
