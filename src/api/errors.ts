import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Prisma } from '../generated/prisma/client';
import { DEPENDENCIES, type Dependency, HttpError, unavailableDependency } from '../services/errors';

/** Every error body: a name from a small table, a sentence, and the fields at fault (or the dependency that did not answer). */
export const ErrorBodySchema = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  dependency: z.enum(DEPENDENCIES).optional(),
});

/** Seconds a client should wait before trying again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

const DEPENDENCY_NAMES: Record<Dependency, string> = { postgresql: 'PostgreSQL', temporal: 'Temporal' };

/** "/customer/phone" or "customer.phone" -> "customer.phone" */
function fieldName(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.');
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send({ error: err.error, message: err.message, issues: err.issues });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        field: [err.validationContext === 'body' ? '' : err.validationContext, fieldName(v.instancePath)].filter(Boolean).join('.') || '(body)',
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({ error: 'ValidationError', message: issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.code ?? 'BadRequest', message: err.message });
    }
    // Two requests inserted the same new record at once and this one lost: asking again finds it.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      req.log.warn({ model: err.meta?.modelName }, 'lost a race to insert the same record');
      return reply.status(409).send({ error: 'Conflict', message: 'another request wrote the same record at the same moment; send this one again' });
    }
    const dependency = unavailableDependency(err);
    if (dependency) {
      // The error's name and code only: driver messages can quote the values of the statement.
      req.log.warn({ dependency, err: { name: err.name, code: err.code } }, 'dependency unavailable');
      return reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
        error: 'ServiceUnavailable', dependency,
        message: `${DEPENDENCY_NAMES[dependency]} did not answer in time; try again in ${RETRY_AFTER_SECONDS} seconds`,
      });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'InternalError', message: 'something went wrong; it has been logged' });
  });
}
