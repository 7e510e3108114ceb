/**
 * A store's morning run, started by its Schedule at the store's digest hour: reclaim the customers
 * nobody contacted while a call was due (seed 001), screen the vehicles due for replacement
 * outreach (I-1), then email the managers yesterday's digest and any threshold alert (seed 002).
 * One schedule per store, one mechanism for all three.
 *
 * VERSIONING: a run lasts a morning, but one may be running when a worker is deployed, so changes
 * go behind `patched()` as in vehicle-lifecycle.ts (histories in test/histories/store-digest-*).
 * v2: 'screen-replacement-candidates'. v3: 'screening-heartbeats' (the screening heartbeats its
 * progress and resumes from it, so a store of any size finishes).
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StoreDigestResult } from '../activities/digest';
import type { StoreDigestWorkflowInput } from './contract';

// A database or mail outage is waited out through the morning; the run's timeout (the schedule's) ends it.
const RETRY = { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;
const { reclaimStoreCustomers, screenReplacementCandidates, sendStoreDigest } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', retry: RETRY });
/**
 * The screening asks every vehicle's workflow (minutes for a large store): it heartbeats after each
 * page, so a lost worker is noticed in a minute and the retry resumes where the last page ended.
 */
const screening = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: RETRY,
});

export async function storeDigest(input: StoreDigestWorkflowInput): Promise<StoreDigestResult | null> {
  const { storeId } = input;
  // When the schedule started this run: "yesterday" stays the same day however long the retries take.
  const asOf = input.asOf ?? workflowInfo().runStartTime.toISOString();
  await reclaimStoreCustomers({ storeId, asOf });
  // Each vehicle is screened once per replacement cycle, so a retried or repeated run adds nothing.
  if (patched('screen-replacement-candidates')) {
    await (patched('screening-heartbeats') ? screening.screenReplacementCandidates : screenReplacementCandidates)({ storeId, asOf });
  }
  return sendStoreDigest({ storeId, asOf });
}
