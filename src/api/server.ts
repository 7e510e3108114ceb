import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { httpLoggerOptions } from '../logger';
import { registerRequestTelemetry } from '../metrics-api';
import { registerAuth } from './auth';
import { ErrorBodySchema, registerErrorHandler } from './errors';
import { authRoutes } from './routes/auth';
import { consentRoutes } from './routes/consents';
import { deliveryRoutes } from './routes/deliveries';
import { kpiRoutes } from './routes/kpis';
import { messageRoutes } from './routes/messages';
import { ownershipRoutes } from './routes/ownership';
import { planRoutes } from './routes/plans';
import { storeRoutes } from './routes/stores';
import { taskRoutes } from './routes/tasks';
import { templateRoutes } from './routes/templates';
import { webhookRoutes } from './routes/webhooks';

export interface ApiDeps {
  config: Config;
  db: Db;
  temporal: Client;
}

export async function buildServer(deps: ApiDeps, opts: { logLevel?: string } = {}) {
  const app = Fastify({
    // Fastify logs the URL: query strings carry IDs, and tokens in them are masked (src/logger.ts).
    logger: httpLoggerOptions(opts.logLevel ?? deps.config.LOG_LEVEL),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  registerRequestTelemetry(app, Boolean(deps.config.OTEL_EXPORTER_OTLP_ENDPOINT));

  await app.register(swagger, {
    openapi: {
      info: { title: 'Huifang API', description: 'Durable customer follow-up (回访) for car dealerships', version: '0.1.0' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // The docs page and its assets are public, like /openapi.json.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  // Every route answers 400 to a bad value (naming the field) and, unless public, 401 without a valid key.
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return;
    const response = (route.schema.response ??= {}) as Record<number, unknown>;
    response[400] ??= ErrorBodySchema;
    if (!route.config?.public) response[401] ??= ErrorBodySchema;
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  registerAuth(app, deps.db);

  app.get('/health', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(authRoutes, deps);
  await app.register(deliveryRoutes, deps);
  await app.register(ownershipRoutes, deps);
  await app.register(planRoutes, deps);
  await app.register(storeRoutes, deps);
  await app.register(messageRoutes, deps);
  await app.register(kpiRoutes, deps);
  await app.register(taskRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(consentRoutes, deps);
  await app.register(templateRoutes, deps);
  return app;
}
