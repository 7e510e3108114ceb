import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import Fastify from 'fastify';
import { apiRegistry, registerRequestTelemetry, serveMetrics } from '../../src/metrics-api';

function app(tracing: boolean) {
  const server = Fastify();
  registerRequestTelemetry(server, tracing);
  server.get('/v1/things/:id', async (req) => ({
    id: (req.params as { id: string }).id,
    // The span the handler runs in, as the Temporal client interceptor would find it.
    traceId: trace.getActiveSpan()?.spanContext().traceId ?? null,
  }));
  server.get('/v1/broken', async () => {
    throw new Error('boom');
  });
  return server;
}

describe('API request metrics', () => {
  it('times requests per route pattern and status, without the IDs in the path, served on their own listener', async () => {
    const server = app(false);
    await server.inject({ method: 'GET', url: '/v1/things/13812345678' });
    await server.inject({ method: 'GET', url: '/v1/broken' });
    await server.inject({ method: 'GET', url: '/nowhere' });
    const metrics = await serveMetrics('127.0.0.1:0', apiRegistry);
    try {
      const { port } = metrics.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/huifang_http_request_duration_seconds_count\{method="GET",route="\/v1\/things\/:id",status_code="200"\} 1/);
      expect(text).toMatch(/huifang_http_request_duration_seconds_count\{method="GET",route="\/v1\/broken",status_code="500"\} 1/);
      expect(text).toMatch(/huifang_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/);
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).not.toContain('13812345678');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      metrics.close();
      await server.close();
    }
  });

  it('with tracing on, runs each handler in a span named by its route, which ends with the response', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    const server = app(true);
    try {
      const res = await server.inject({ method: 'GET', url: '/v1/things/abc' });
      const [span] = exporter.getFinishedSpans();
      expect(span.name).toBe('GET /v1/things/:id');
      expect(span.attributes['http.response.status_code']).toBe(200);
      expect(res.json().traceId).toBe(span.spanContext().traceId);
      await server.inject({ method: 'GET', url: '/v1/broken' });
      expect(exporter.getFinishedSpans()[1].status.code).toBe(2); // ERROR
    } finally {
      await server.close();
      await provider.shutdown();
      trace.disable();
    }
  });
});
