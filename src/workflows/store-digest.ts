/**
 * A store's morning run, started by its Schedule at the store's digest hour: reclaim the customers
 * nobody contacted while a call was due (seed 001), then email the managers yesterday's digest and
 * any threshold alert (seed 002). One schedule per store, one mechanism for both.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StoreDigestResult } from '../activities/digest';
import type { StoreDigestWorkflowInput } from './contract';

const { reclaimStoreCustomers, sendStoreDigest } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // A database or mail outage is waited out through the morning; the run's timeout (the schedule's) ends it.
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function storeDigest(input: StoreDigestWorkflowInput): Promise<StoreDigestResult | null> {
  const { storeId } = input;
  // When the schedule started this run: "yesterday" stays the same day however long the retries take.
  const asOf = input.asOf ?? workflowInfo().runStartTime.toISOString();
  await reclaimStoreCustomers({ storeId, asOf });
  return sendStoreDigest({ storeId, asOf });
}
