/**
 * A store's morning run, started by its Schedule at the store's digest hour: reclaim the customers
 * nobody contacted while a call was due (seed 001), screen the vehicles due for replacement
 * outreach (I-1), then email the managers yesterday's digest and any threshold alert (seed 002).
 * One schedule per store, one mechanism for all three.
 *
 * VERSIONING: a run lasts a morning, but one may be running when a worker is deployed, so changes
 * go behind `patched()` as in vehicle-lifecycle.ts (histories in test/histories/store-digest-*).
 * v2: 'screen-replacement-candidates'.
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StoreDigestResult } from '../activities/digest';
import type { StoreDigestWorkflowInput } from './contract';

const { reclaimStoreCustomers, screenReplacementCandidates, sendStoreDigest } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // A database or mail outage is waited out through the morning; the run's timeout (the schedule's) ends it.
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function storeDigest(input: StoreDigestWorkflowInput): Promise<StoreDigestResult | null> {
  const { storeId } = input;
  // When the schedule started this run: "yesterday" stays the same day however long the retries take.
  const asOf = input.asOf ?? workflowInfo().runStartTime.toISOString();
  await reclaimStoreCustomers({ storeId, asOf });
  // Each vehicle is screened once per replacement cycle, so a retried or repeated run adds nothing.
  if (patched('screen-replacement-candidates')) await screenReplacementCandidates({ storeId, asOf });
  return sendStoreDigest({ storeId, asOf });
}
