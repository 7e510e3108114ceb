import http from 'node:http';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * The API's Prometheus metrics (request durations per route, and Node's process metrics), served
 * on a listener of their own (API_METRICS_ADDRESS) so that they never face the internet with the
 * API. Labels carry the route pattern (`/v1/deliveries/:id`), never a path with IDs in it.
 */
export const apiRegistry = new Registry();
collectDefaultMetrics({ register: apiRegistry });

const requestDuration = new Histogram({
  name: 'huifang_http_request_duration_seconds',
  help: 'API request durations by method, route pattern and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [apiRegistry],
});

/**
 * Times every request and, with tracing on (src/tracing.ts), runs each route's handler inside a
 * span of its own, so that the Temporal client's spans (and through them the workflow's) are its
 * children. Call before any route is registered.
 */
export function registerRequestTelemetry(app: FastifyInstance, tracing: boolean): void {
  app.addHook('onResponse', async (req, reply) => {
    requestDuration.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  if (!tracing) return;
  const tracer = trace.getTracer('huifang');
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function traced(req, reply) {
      const span = tracer.startSpan(`${req.method} ${route.url}`, { attributes: { 'http.request.method': req.method, 'http.route': route.url } });
      reply.raw.once('finish', () => {
        span.setAttribute('http.response.status_code', reply.statusCode);
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      return context.with(trace.setSpan(context.active(), span), () => handler.call(this, req, reply));
    };
  });
}

/** Serves `registry` at http://<address>/metrics. */
export function serveMetrics(address: string, registry: Registry): Promise<http.Server> {
  const separator = address.lastIndexOf(':');
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(separator + 1)), address.slice(0, separator).replace(/^\[|\]$/g, ''), () => resolve(server));
  });
}
