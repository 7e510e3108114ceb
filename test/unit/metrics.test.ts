import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import type { Context } from '@temporalio/activity';
import { businessMetricsInterceptor } from '../../src/metrics';

/** A meter that keeps what was added, per counter and tags. */
function recordingMeter() {
  const added: string[] = [];
  const meter = {
    createCounter: (name: string) => ({ add: (value: number, tags: MetricTags = {}) => added.push(`${name}${JSON.stringify(tags)}+${value}`) }),
  } as unknown as MetricMeter;
  return { meter, added };
}

async function run(factory: ReturnType<typeof businessMetricsInterceptor>, activityType: string, result: unknown | Error) {
  const { inbound } = factory({ info: { activityType } } as unknown as Context);
  const input = { args: [], headers: {} } as ActivityExecuteInput;
  return inbound!.execute!(input, async () => {
    if (result instanceof Error) throw result;
    return result;
  });
}

describe('business metrics from activity answers', () => {
  it('counts message outcomes by status, opened follow-ups and closed ones by status', async () => {
    const { meter, added } = recordingMeter();
    const factory = businessMetricsInterceptor(meter);
    expect(await run(factory, 'sendMessage', { messageId: 'm1', status: 'sent' })).toEqual({ messageId: 'm1', status: 'sent' });
    await run(factory, 'sendMessage', { messageId: 'm2', status: 'deferred', reason: 'quiet-hours' });
    await run(factory, 'openFollowUp', { followUpId: 'f1', assigneeId: null });
    await run(factory, 'recordOutcome', { status: 'open', attempts: 1, nextAttemptAt: null, problem: false });
    await run(factory, 'recordOutcome', { status: 'done', attempts: 2, nextAttemptAt: null, problem: false });
    await run(factory, 'closeFollowUp', 'missed');
    await run(factory, 'endDelivery', undefined);
    expect(added).toEqual([
      'huifang_message_outcomes{"status":"sent"}+1',
      'huifang_message_outcomes{"status":"deferred"}+1',
      'huifang_follow_ups_opened{}+1',
      'huifang_follow_ups_closed{"status":"done"}+1',
      'huifang_follow_ups_closed{"status":"missed"}+1',
    ]);
  });

  it('counts nothing for an activity that fails, and passes its error on', async () => {
    const { meter, added } = recordingMeter();
    await expect(run(businessMetricsInterceptor(meter), 'sendMessage', new Error('provider down'))).rejects.toThrow('provider down');
    expect(added).toEqual([]);
  });
});
