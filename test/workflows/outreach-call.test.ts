import { randomUUID } from 'node:crypto';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import type { LifecycleInput } from '../../src/domain/lifecycle';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { openOutreachCallUpdate, ownershipEndedSignal, recordAnswerUpdate, stateQuery } from '../../src/workflows/contract';
import { vehicleLifecycle } from '../../src/workflows/vehicle-lifecycle';
import { createTestWorker, timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { fakeActivities } from './fake-activities';
import { recordHistory } from './histories';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [env] = await Promise.all([timeSkippingEnv(), workflowBundle()]);
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

const DAY = 86_400_000;

describe('vehicle lifecycle workflow: the replacement outreach call (I-1)', () => {
  it('CR\'s pass opens the consultant\'s call once; the customer came to the showroom; an unanswered one is missed; none after the ownership ended', async () => {
    const fake = fakeActivities('Asia/Shanghai');
    const { worker, taskQueue } = await createTestWorker(env, fake.activities);
    // 10:00 in Shanghai (02:00 UTC), inside the contact window, so the days below do not depend on
    // the hour the suite runs (a call opened after the day's window counts from tomorrow).
    const started = await env.currentTimeMs();
    const tenAm = new Date(started).setUTCHours(2, 0, 0, 0);
    await env.sleep(tenAm > started ? tenAm - started : tenAm + DAY - started);
    const input: LifecycleInput = {
      deliveryId: `delivery-${randomUUID()}`, storeId: 'store-test', timeZone: 'Asia/Shanghai', deliveredAt: new Date(await env.currentTimeMs()).toISOString(),
      customerWindow: DEFAULT_CUSTOMER_WINDOW, plan: { id: 'plan-outreach', version: 1, steps: DEFAULT_PLAN.steps.filter((s) => s.key === 'delivery-thank-you') }, vehicle: { model: 'Model Y' },
    };
    const workflowId = `vehicle-store-test-${randomUUID()}`;
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(vehicleLifecycle, { taskQueue, workflowId, args: [input] });
      const open = (cycle: string, updateId: string) => handle.executeUpdate(openOutreachCallUpdate, { args: [{ candidateId: `candidate-${cycle}`, cycle, callWindowDays: 7 }], updateId });

      const first = await open('year-4', 'outreach-a');
      // A retried request with a new update ID finds the call already open.
      expect(await open('year-4', 'outreach-a-again')).toEqual(first);
      expect(first.stepKey).toBe('replacement-year-4');
      const opened = fake.callsOf('openFollowUp').filter((c) => c.input.stepKey === 'replacement-year-4');
      expect(opened.map((c) => [c.input.role, c.input.maxAttempts, (Date.parse(c.input.dueEnd) - Date.parse(c.input.dueStart)) / DAY > 6])).toEqual([['consultant', 3, true]]);

      const answer = await handle.executeUpdate(recordAnswerUpdate, {
        args: [{ kind: 'call', stepKey: first.stepKey, answeredAt: new Date(await env.currentTimeMs()).toISOString(), staffId: null, outcome: { reached: true, satisfied: true, showroomVisit: 'came' } }],
      });
      expect(answer).toMatchObject({ status: 'done_on_time', problem: false });

      // Nobody calls about the next cycle's candidate: missed two days after its window closed.
      await open('year-5', 'outreach-b');
      await env.sleep(10 * DAY);
      const steps = (await handle.query(stateQuery)).steps.filter((s) => s.key.startsWith('replacement-'));
      expect(steps.map((s) => [s.key, s.status])).toEqual([['replacement-year-4', 'done_on_time'], ['replacement-year-5', 'missed']]);

      for (const bad of [{ cycle: 'year-x', callWindowDays: 7 }, { cycle: 'year-6', callWindowDays: 0 }]) {
        const refused = await handle.executeUpdate(openOutreachCallUpdate, { args: [{ candidateId: 'c', ...bad }] }).catch((e: unknown) => e);
        expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'InvalidRequest' });
      }
      await handle.signal(ownershipEndedSignal, { reason: 'sold' });
      const ended = await open('year-6', 'outreach-c').catch((e: unknown) => e);
      expect(ended).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((ended as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'OwnershipEnded' });
      await handle.result();
      await recordHistory(handle, 'replacement-outreach-call');
    });
    const h = new Client({ connection: env.connection }).workflow.getHandle(workflowId);
    if ((await h.describe()).status.name === 'RUNNING') await h.terminate('test over');
  });
});
