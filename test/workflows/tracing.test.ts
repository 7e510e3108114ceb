import { context, trace } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { clientTracingInterceptors, workerTracing } from '../../src/tracing';
import { timeSkippingEnv, uniqueTaskQueue } from '../helpers/temporal';

/**
 * The wiring src/api/main.ts and src/worker.ts use when tracing is on: one trace from the API's
 * span through the workflow's start to the workflow run and its activity.
 */
describe('tracing from the API through the workflow to its activities', () => {
  let env: TestWorkflowEnvironment;
  const exporter = new InMemorySpanExporter();
  const spanProcessor = new SimpleSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ spanProcessors: [spanProcessor] });

  beforeAll(async () => {
    provider.register();
    env = await timeSkippingEnv();
  });

  afterAll(async () => {
    await env?.teardown();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  it('puts the workflow run and its activity in the trace of the request that started it', async () => {
    const traced = workerTracing({ resource: new Resource({ 'service.name': 'test-worker' }), spanProcessor });
    const taskQueue = uniqueTaskQueue('tracing');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../fixtures/traced-workflow'), workflowInterceptorModules: traced.workflowModules, logger: new DefaultLogger('WARN'),
      }),
      activities: { greet: async (name: string) => `hello ${name}` },
      interceptors: { activity: traced.activityInterceptors },
      sinks: traced.sinks,
    });
    const client = new Client({ connection: env.connection, interceptors: clientTracingInterceptors() });
    const request = trace.getTracer('test').startSpan('POST /v1/deliveries');
    const result = await worker.runUntil(context.with(trace.setSpan(context.active(), request), () =>
      client.workflow.execute('tracedWorkflow', { taskQueue, workflowId: uniqueTaskQueue('wf'), args: ['x'] })));
    request.end();
    expect(result).toBe('hello x');

    const spans = exporter.getFinishedSpans();
    const names = spans.map((s) => s.name);
    for (const name of ['StartWorkflow:tracedWorkflow', 'RunWorkflow:tracedWorkflow', 'StartActivity:greet', 'RunActivity:greet']) {
      expect(names).toContain(name);
    }
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    expect([...traceIds]).toEqual([request.spanContext().traceId]);
  });
});
