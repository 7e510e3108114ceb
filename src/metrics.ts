import type { MetricMeter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { RecordOutcomeResult } from './activities/follow-ups';
import type { SendMessageResult } from './activities/messaging';

/**
 * Business counters of the worker, served beside the SDK's own metrics on its Prometheus endpoint
 * (WORKER_METRICS_ADDRESS): read from what the activities answer, so the activities stay free of
 * metrics code. A retried activity that answers again counts again (as does a close that found the
 * task closed already); rates, not exact totals, are
 * what these are for (the database holds the exact ones).
 *
 *   huifang_message_outcomes{status}      sendMessage answers: sent, deferred, suppressed, failed...
 *   huifang_follow_ups_opened             call tasks written (openFollowUp)
 *   huifang_follow_ups_closed{status}     tasks closed: done, done_late, missed, cancelled...
 */
export function businessMetricsInterceptor(meter: MetricMeter): ActivityInterceptorsFactory {
  const messages = meter.createCounter('huifang_message_outcomes', 'messages', 'Outbound message send outcomes by status');
  const opened = meter.createCounter('huifang_follow_ups_opened', 'follow-ups', 'Follow-up call tasks opened');
  const closed = meter.createCounter('huifang_follow_ups_closed', 'follow-ups', 'Follow-up call tasks closed, by status');
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const result = await next(input);
        switch (ctx.info.activityType) {
          case 'sendMessage':
            messages.add(1, { status: (result as SendMessageResult).status });
            break;
          case 'openFollowUp':
            opened.add(1);
            break;
          case 'recordOutcome': {
            const { status } = result as RecordOutcomeResult;
            if (status !== 'open') closed.add(1, { status });
            break;
          }
          case 'closeFollowUp':
            closed.add(1, { status: result as string });
            break;
        }
        return result;
      },
    },
  });
}
