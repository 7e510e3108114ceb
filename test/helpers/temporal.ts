import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, WorkflowBundle } from '@temporalio/worker';
import { workflowBundlerOptions } from '../../src/temporal/bundle';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/connection';
import { temporalBinaries } from '../../src/temporal/toolchain';
import { messagingTaskQueue } from '../../src/workflows/contract';

/**
 * One helper for workflow tests: a time-skipping server from our cached binary, the workflow
 * bundle built once per test file, and workers on a unique task queue per test.
 */
let runtimeInstalled = false;

function installRuntime(): void {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  const path = process.env.TEMPORAL_TEST_SERVER_PATH ?? temporalBinaries().testServer;
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

/** The dev server, for tests that need what the time-skipping server lacks (our search attributes). */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  const path = process.env.TEMPORAL_CLI_PATH ?? temporalBinaries().cli;
  return TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] } });
}

let bundle: Promise<WorkflowBundle> | undefined;
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('WARN'), ...workflowBundlerOptions() });
  return bundle;
}

export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** The workflow worker and the messaging worker beside it (as src/worker.ts runs them), run and stopped together. */
export interface TestWorker {
  run(): Promise<void>;
  runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R>;
  /** Stops the workflow worker; the messaging worker stops once it has. */
  shutdown(): void;
}

export async function createTestWorker(env: TestWorkflowEnvironment, activities: object, taskQueue = uniqueTaskQueue()): Promise<{ worker: TestWorker; taskQueue: string }> {
  const main = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const messaging = await Worker.create({ connection: env.nativeConnection, taskQueue: messagingTaskQueue(taskQueue), activities });
  const worker: TestWorker = {
    run: () => messaging.runUntil(main.run()),
    runUntil: (fnOrPromise) => messaging.runUntil(() => main.runUntil(fnOrPromise)),
    shutdown: () => main.shutdown(),
  };
  return { worker, taskQueue };
}
