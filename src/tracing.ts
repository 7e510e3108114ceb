import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Context } from '@temporalio/activity';
import {
  makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from './config';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT,
 * the standard variable, which the exporter reads itself along with its OTEL_EXPORTER_OTLP_*
 * siblings). Spans go from the API's request through the Temporal client (the workflow's start,
 * update or signal carries the trace in its headers) to the workflow and its activities.
 * Span names and attributes carry routes and IDs only, never personal data.
 */
export function startTracing(config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT'>, serviceName: string): Tracing | undefined {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The global provider, AsyncLocalStorage context and W3C trace-context propagation the Temporal interceptors use.
  provider.register();
  return { resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/** The Temporal client's part: a workflow's start, updates and signals carry the active trace in their headers. */
export const clientTracingInterceptors = () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] });

/**
 * The worker's part: spans for workflow runs (exported through a sink, since workflow code has no
 * I/O) and for activities, each a child of the span that started the workflow or scheduled it.
 */
export function workerTracing(tracing: Pick<Tracing, 'resource' | 'spanProcessor'>) {
  return {
    activityInterceptors: [(ctx: Context) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    // Part of the workflow bundle only with tracing on: they grow every workflow's sandbox.
    workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
