import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { httpLoggerOptions } from '../logger';
import { registerRequestTelemetry } from '../metrics-api';
import { registerAuth } from './auth';
import { consoleRoutes } from './console';
import { ErrorBodySchema, registerErrorHandler, RETRY_AFTER_SECONDS } from './errors';
import type { Dependency } from '../services/errors';
import { auditRoutes } from './routes/audit';
import { managerAuditRoutes } from './routes/audits';
import { storeSettingsRoutes } from './routes/store-settings';
import { authRoutes } from './routes/auth';
import { calendarRoutes } from './routes/calendar';
import { caseRoutes } from './routes/cases';
import { consentRoutes } from './routes/consents';
import { deliveryRoutes } from './routes/deliveries';
import { importRoutes } from './routes/imports';
import { kpiRoutes } from './routes/kpis';
import { messageRoutes } from './routes/messages';
import { ownershipRoutes } from './routes/ownership';
import { vehicleEventRoutes } from './routes/vehicle-events';
import { yearsPlanRoutes } from './routes/years-plan';
import { replacementRoutes } from './routes/replacement';
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
      // An API key or a staff session token as the bearer, or the console's session cookie.
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'hf_session' } } },
      security: [{ apiKey: [] }, { session: [] }],
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
    response[503] ??= ErrorBodySchema;
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  registerAuth(app, deps.db);

  registerTemporalDeadline(app, deps);
  // Liveness: the process answers. Readiness: it can do its work (a load balancer sends traffic only then).
  app.get('/health', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const checks = await readiness(deps);
    const ready = Object.values(checks).every((c) => c === 'ok');
    if (!ready) reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS));
    return { status: ready ? 'ready' : 'unavailable', ...checks };
  });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(authRoutes, deps);
  await app.register(deliveryRoutes, deps);
  await app.register(importRoutes, deps);
  await app.register(ownershipRoutes, deps);
  await app.register(vehicleEventRoutes, deps);
  await app.register(yearsPlanRoutes, deps);
  await app.register(replacementRoutes, deps);
  await app.register(planRoutes, deps);
  await app.register(storeRoutes, deps);
  await app.register(messageRoutes, deps);
  await app.register(kpiRoutes, deps);
  await app.register(taskRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(consentRoutes, deps);
  await app.register(templateRoutes, deps);
  await app.register(auditRoutes, deps);
  await app.register(managerAuditRoutes, deps);
  await app.register(storeSettingsRoutes, deps);
  await app.register(caseRoutes, deps);
  await app.register(calendarRoutes, deps);
  await app.register(consoleRoutes);
  return app;
}

/**
 * Every Temporal call a request makes (start, query, update and the polls behind it, signal)
 * shares the request's deadline, so a request answers 503 instead of waiting while Temporal is
 * down or a workflow does not take its update. The handler runs inside the preHandler's callback,
 * so the deadline's async context reaches every call it makes.
 */
function registerTemporalDeadline(app: FastifyInstance, { temporal, config }: ApiDeps): void {
  app.addHook('preHandler', (_req, _reply, done) => {
    void temporal.withDeadline(Date.now() + config.TEMPORAL_REQUEST_TIMEOUT_MS, async () => done());
  });
}

const READINESS_DEADLINE_MS = 2_000;

/** Each dependency answers a trivial call within a short deadline: "ok", or why not. */
async function readiness({ db, temporal }: ApiDeps): Promise<Record<Dependency, string>> {
  const check = async (call: () => Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), READINESS_DEADLINE_MS)));
    try {
      return await Promise.race([call().then(() => 'ok', () => 'error'), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const [postgresql, temporalCheck] = await Promise.all([
    check(() => db.$queryRaw`SELECT 1`),
    // The call's own deadline comes a little after the answer's, so a hung server reads "timeout", not the deadline's error.
    check(() => temporal.withDeadline(Date.now() + READINESS_DEADLINE_MS + 500, () => temporal.workflowService.getSystemInfo({}))),
  ]);
  return { postgresql, temporal: temporalCheck };
}
