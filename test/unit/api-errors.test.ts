import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerErrorHandler } from '../../src/api/errors';
import { Prisma } from '../../src/generated/prisma/client';

/**
 * The API's one error mapping: a dependency that is down or too slow is a 503 with Retry-After
 * that names it, a lost insert race a 409, anything else a 500. The errors are the ones the
 * drivers throw (seen in the outage tests of test/api/deliveries.test.ts).
 */

const prismaError = (code: string, cause?: object) =>
  new Prisma.PrismaClientKnownRequestError('failed', { code, clientVersion: '6.19.3', meta: cause && { driverAdapterError: { cause } } });
const grpcError = (code: number) => Object.assign(new Error(`${code} grpc`), { code, details: 'grpc', metadata: {} });

const cases: [string, number, string | undefined, () => Error][] = [
  ['PostgreSQL refusing connections (P1001)', 503, 'postgresql', () => prismaError('P1001')],
  ['a statement cancelled by statement_timeout (SQLSTATE 57014)', 503, 'postgresql', () => prismaError('P2010', { kind: 'postgres', code: '57014' })],
  ['a server shutting down (SQLSTATE 57P01)', 503, 'postgresql', () => prismaError('P2010', { kind: 'postgres', code: '57P01' })],
  ['no pooled connection in time', 503, 'postgresql', () => new Error('timeout exceeded when trying to connect')],
  ['a silent server (the client\'s query timeout)', 503, 'postgresql', () => new Error('Query read timeout')],
  ['Temporal unreachable (UNAVAILABLE)', 503, 'temporal', () => new ServiceError('Failed to start Workflow', { cause: grpcError(14) })],
  ['Temporal past the request\'s deadline (DEADLINE_EXCEEDED)', 503, 'temporal', () => new ServiceError('Failed to query Workflow', { cause: grpcError(4) })],
  ['an update past the deadline', 503, 'temporal', () => new WorkflowUpdateRPCTimeoutOrCancelledError('timeout', { cause: grpcError(4) })],
  ['a lost race to insert the same row (P2002)', 409, undefined, () => prismaError('P2002')],
  ['a foreign-key violation (P2003) is a bug, not an outage', 500, undefined, () => prismaError('P2003')],
  ['a Temporal error that is not about availability', 500, undefined, () => new ServiceError('Failed', { cause: grpcError(3) })],
  ['any other error', 500, undefined, () => new Error('boom')],
];

let app: FastifyInstance;
let baseUrl: string;
let thrown: () => Error;

beforeAll(async () => {
  app = Fastify({ logger: false });
  registerErrorHandler(app);
  app.get('/fail', async () => {
    throw thrown();
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(() => app.close());

it.each(cases)('%s: %i', async (_what, status, dependency, error) => {
  thrown = error;
  const res = await fetch(`${baseUrl}/fail`);
  expect(res.status).toBe(status);
  const body = (await res.json()) as { dependency?: string };
  expect(body.dependency).toBe(dependency);
  if (status === 503) {
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body).toMatchObject({ error: 'ServiceUnavailable', message: expect.stringMatching(/did not answer in time/) });
  }
});
