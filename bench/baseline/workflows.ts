/**
 * The ingest benchmark's baseline: a workflow that runs one activity that does nothing. Its rate
 * on the same dev server and machine is what Temporal alone allows; the product's ingest rate is
 * read against it. This file is its own workflow bundle (bench/baseline/worker.ts).
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { noop } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  // The same retry policy as the product's activities.
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function noopWorkflow(): Promise<void> {
  await noop();
}
