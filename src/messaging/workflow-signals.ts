import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Db } from '../db/client';
import type { Logger } from '../logger';
import type { consentChangedSignal, customerRepliedSignal } from '../workflows/contract';

type ArgOf<S> = S extends SignalDefinition<[infer A]> ? A : never;
export type CustomerReplied = ArgOf<typeof customerRepliedSignal>;
export type ConsentChanged = ArgOf<typeof consentChangedSignal>;

// By name: importing the definitions would load the workflow module (and its activity proxies) into the API.
const CUSTOMER_REPLIED = 'customerReplied';
const CONSENT_CHANGED = 'consentChanged';

export type LifecycleSignal = { name: typeof CUSTOMER_REPLIED; arg: CustomerReplied } | { name: typeof CONSENT_CHANGED; arg: ConsentChanged };

export const customerReplied = (arg: CustomerReplied): LifecycleSignal => ({ name: CUSTOMER_REPLIED, arg });
export const consentChanged = (arg: ConsentChanged): LifecycleSignal => ({ name: CONSENT_CHANGED, arg });

/**
 * Tells the lifecycle workflows of a customer's active deliveries. Best effort: the database is
 * already up to date and sends check it again, so a closed or unreachable workflow is logged and
 * never fails the caller (a webhook that failed would make the provider send it again).
 */
export async function signalCustomerWorkflows(
  deps: { db: Db; temporal: Client; log: Pick<Logger, 'warn'> },
  customerId: string,
  signals: readonly LifecycleSignal[],
): Promise<void> {
  if (signals.length === 0) return;
  const deliveries = await deps.db.delivery.findMany({ where: { customerId, status: 'active' }, select: { workflowId: true } });
  await Promise.all(
    deliveries.map(async ({ workflowId }) => {
      const handle = deps.temporal.workflow.getHandle(workflowId);
      for (const signal of signals) {
        try {
          await handle.signal(signal.name, signal.arg);
        } catch (err) {
          deps.log.warn({ workflowId, signal: signal.name, error: (err as Error).name }, 'could not signal the lifecycle workflow');
        }
      }
    }),
  );
}
