import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, WorkflowBundle } from '@temporalio/worker';
import { temporalBinaries } from '../../src/temporal/toolchain';

/**
 * One helper for workflow tests: a time-skipping server from our cached binary, the workflow
 * bundle built once per test file, and workers on a unique task queue per test.
 */
let runtimeInstalled = false;

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const path = process.env.TEMPORAL_TEST_SERVER_PATH ?? temporalBinaries().testServer;
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

let bundle: Promise<WorkflowBundle> | undefined;
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('WARN') });
  return bundle;
}

export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export async function createTestWorker(env: TestWorkflowEnvironment, activities: object, taskQueue = uniqueTaskQueue()) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  return { worker, taskQueue };
}
