import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Every error body: a name from a small table, a sentence, and the fields at fault. */
export const ErrorBodySchema = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly issues?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string) =>
  new HttpError(400, 'ValidationError', `${field}: ${message}`, [{ field, message }]);
export const notFound = (what: string) => new HttpError(404, 'NotFound', `${what} not found`);
export const conflict = (message: string) => new HttpError(409, 'Conflict', message);
export const forbidden = (message: string) => new HttpError(403, 'Forbidden', message);

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
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'InternalError', message: 'something went wrong; it has been logged' });
  });
}
