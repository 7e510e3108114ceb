import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import pg from 'pg';
import { DatabaseUnreachable } from '../db/raw';
import { Prisma } from '../generated/prisma/client';

/** What the API needs to answer, and can wait for: a 503 names it. */
export const DEPENDENCIES = ['postgresql', 'temporal'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** Every error body: a name from a small table, a sentence, and the fields at fault (or the dependency that did not answer). */
export const ErrorBodySchema = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  dependency: z.enum(DEPENDENCIES).optional(),
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

/** Seconds a client should wait before trying again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

// Prisma: cannot reach, timed out, connection closed, no pooled connection in time, transaction timed out.
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
// The driver adapter's names for a connection that failed or dropped.
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// SQLSTATE: statement timeout, idle-in-transaction timeout, server shutting down or starting, connection exceptions.
const PG_UNAVAILABLE = /^(57014|25P03|53300|57P\w\w|08\w\w\w)$/;
// node-postgres's own errors, before any SQLSTATE: no connection in time, a silent server, a dropped socket.
const PG_CLIENT_UNAVAILABLE = /^(timeout exceeded when trying to connect|Connection terminated|Query read timeout)/;
// gRPC: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (rate limited), UNAVAILABLE.
const GRPC_UNAVAILABLE = new Set([4, 8, 14]);

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}

/** The dependency that was down or too slow for this error, or null when the error is anything else. */
export function unavailableDependency(err: unknown): Dependency | null {
  if (err instanceof Prisma.PrismaClientInitializationError) return 'postgresql';
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    const cause = (err.meta?.driverAdapterError as { cause?: { kind?: string; code?: string } } | undefined)?.cause;
    if (PRISMA_UNAVAILABLE.has(err.code) || ADAPTER_UNAVAILABLE.has(cause?.kind ?? '') || PG_UNAVAILABLE.test(cause?.code ?? '')) return 'postgresql';
    return null;
  }
  for (const e of causes(err)) {
    // the hot reads that go straight through node-postgres (src/db/raw.ts)
    if (e instanceof DatabaseUnreachable || (e instanceof pg.DatabaseError && PG_UNAVAILABLE.test(e.code ?? ''))) return 'postgresql';
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return 'temporal';
    if (isGrpcServiceError(e) && GRPC_UNAVAILABLE.has(e.code)) return 'temporal';
  }
  return err instanceof Error && PG_CLIENT_UNAVAILABLE.test(err.message) ? 'postgresql' : null;
}

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
