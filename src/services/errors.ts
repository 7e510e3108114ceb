import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import pg from 'pg';
import { DatabaseUnreachable } from '../db/raw';
import { Prisma } from '../generated/prisma/client';

/*
 * The errors the API's routes and the services they share (with the admin CLI and the import) throw:
 * each names the HTTP status it answers with; src/api/errors.ts turns them into responses.
 */

/** What the API needs to answer, and can wait for: a 503 names it. */
export const DEPENDENCIES = ['postgresql', 'temporal'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

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
