/**
 * Importing the existing base: the file is the request body (CSV or xlsx, streamed to DATA_DIR,
 * never held in memory nor stored in the database), the import a durable job (`import-<id>`),
 * its progress and per-row outcomes read from its rows.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { safeText } from '../../domain/text';
import { STORE_ID_ATTRIBUTE } from '../../temporal/connection';
import { importWorkflowId, type ImportJobInput } from '../../workflows/contract';
import { actorLabel, actorOf, assertApiKey, assertCan, assertStoreAccess } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, HttpError, notFound } from '../../services/errors';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/** A DMS export of 100,000 rows is about 20 MB as CSV and less as xlsx. */
export const IMPORT_MAX_BYTES = 200 * 1024 * 1024;

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CONTENT_TYPES = { 'text/csv': 'csv', [XLSX_TYPE]: 'xlsx' } as const;

const ROW_STATUSES = ['pending', 'created', 'updated', 'unchanged', 'rejected'] as const;

const JobSchema = z.object({
  id: z.string(), storeId: z.string(), fileName: z.string(), format: z.string(), sizeBytes: z.number(),
  status: z.string(), encoding: z.string().nullable(), error: z.string().nullable(),
  createdAt: z.string(), finishedAt: z.string().nullable(),
  rows: z.object({ read: z.number(), pending: z.number(), created: z.number(), updated: z.number(), unchanged: z.number(), rejected: z.number() }),
});

const RowSchema = z.object({
  rowNumber: z.number(), status: z.string(),
  problems: z.array(z.object({ column: z.string(), message: z.string() })).nullable(),
  result: z.record(z.string(), z.object({ id: z.string().optional(), action: z.string() })).nullable(),
});

async function jobView(db: Db, id: string): Promise<z.infer<typeof JobSchema>> {
  const job = await db.importJob.findUniqueOrThrow({ where: { id } });
  const counts = await db.importRow.groupBy({ by: ['status'], where: { jobId: id }, _count: { _all: true } });
  const count = (status: string) => counts.find((c) => c.status === status)?._count._all ?? 0;
  return {
    id: job.id, storeId: job.storeId, fileName: job.fileName, format: job.format, sizeBytes: job.sizeBytes,
    status: job.status, encoding: job.encoding, error: job.error, createdAt: job.createdAt.toISOString(), finishedAt: job.finishedAt?.toISOString() ?? null,
    rows: { read: job.rowsRead, pending: count('pending'), created: count('created'), updated: count('updated'), unchanged: count('unchanged'), rejected: count('rejected') },
  };
}

/** Counts bytes as they pass and stops the upload past the limit (a 413 naming it). */
function sizeLimit(max: number, counted: { bytes: number }) {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      counted.bytes += chunk.length;
      if (counted.bytes > max) done(new HttpError(413, 'PayloadTooLarge', `the file must not exceed ${max} bytes`));
      else done(null, chunk);
    },
  });
}

export const importRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  // The body stays a stream: it goes to disk as it arrives.
  app.addContentTypeParser([...Object.keys(CONTENT_TYPES), 'application/octet-stream'], { bodyLimit: IMPORT_MAX_BYTES }, (_req, payload, done) => done(null, payload));

  app.post('/v1/imports', {
    bodyLimit: IMPORT_MAX_BYTES,
    schema: {
      tags: ['imports'],
      summary: 'Import a DMS export (customers, vehicles, deliveries, service history, policies) as CSV (UTF-8 or GBK) or xlsx: the file is the body (content type text/csv or the xlsx type)',
      querystring: z.object({
        storeId: StoreIdSchema,
        fileName: safeText(200).refine((n) => !/[/\\]/.test(n), 'a file name without folders').optional(),
      }),
      response: { 202: JobSchema, 403: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    assertApiKey(actor);
    const { storeId } = req.query;
    assertStoreAccess(actor, storeId);
    if (!(await db.store.findUnique({ where: { id: storeId } }))) throw badRequest('storeId', `unknown store ${storeId}`);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const fileName = req.query.fileName ?? `import.${type === XLSX_TYPE ? 'xlsx' : 'csv'}`;
    const format = CONTENT_TYPES[type as keyof typeof CONTENT_TYPES] ?? (/\.xlsx$/i.test(fileName) ? 'xlsx' : /\.(csv|txt)$/i.test(fileName) ? 'csv' : null);
    if (!format) throw new HttpError(415, 'UnsupportedMediaType', `send text/csv or ${XLSX_TYPE} (or application/octet-stream with a fileName ending .csv or .xlsx)`);

    const id = randomUUID();
    const dir = path.join(config.DATA_DIR, 'imports');
    await mkdir(dir, { recursive: true });
    const filePath = path.join(dir, `${id}.${format}`);
    // No body at all (and no content type): Fastify leaves none to stream.
    if (!req.body) throw badRequest('body', 'the file is empty');
    const counted = { bytes: 0 };
    try {
      await pipeline(req.body as NodeJS.ReadableStream, sizeLimit(IMPORT_MAX_BYTES, counted), createWriteStream(filePath, { flags: 'wx' }));
    } catch (err) {
      await unlink(filePath).catch(() => undefined);
      throw err;
    }
    if (counted.bytes === 0) {
      await unlink(filePath);
      throw badRequest('body', 'the file is empty');
    }
    await db.importJob.create({ data: { id, storeId, fileName, filePath, format, sizeBytes: counted.bytes, createdBy: actorLabel(actor) } });
    // The upload may have outlasted the request's Temporal deadline (set before the body arrived): the start gets its own.
    await temporal.withDeadline(Date.now() + config.TEMPORAL_REQUEST_TIMEOUT_MS, () => temporal.workflow.start('importJob', {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: importWorkflowId(id),
      args: [{ jobId: id } satisfies ImportJobInput],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [{ key: STORE_ID_ATTRIBUTE, value: storeId }],
    }));
    req.log.info({ importId: id, storeId, format, bytes: counted.bytes }, 'import started');
    return reply.status(202).send(await jobView(db, id));
  });

  async function findJob(req: { params: { id: string } } & Parameters<typeof actorOf>[0]) {
    const actor = actorOf(req);
    const job = await db.importJob.findUnique({ where: { id: req.params.id }, select: { storeId: true } });
    if (!job) throw notFound(`import ${req.params.id}`);
    assertCan(actor, 'import.read', job.storeId);
  }

  app.get('/v1/imports/:id', {
    schema: {
      tags: ['imports'], summary: 'An import\'s status and progress: rows read, still pending, created, updated, unchanged and rejected',
      params: z.object({ id: z.uuid() }),
      response: { 200: JobSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    await findJob(req);
    return jobView(db, req.params.id);
  });

  app.get('/v1/imports/:id/rows', {
    schema: {
      tags: ['imports'], summary: 'An import\'s rows in file order: what each created or updated, or why it was rejected',
      params: z.object({ id: z.uuid() }),
      querystring: z.object({
        status: z.enum(ROW_STATUSES).optional(),
        /** The last row number of the previous page. */
        after: z.coerce.number().int().min(0).max(10_000_000).default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: z.object({ rows: z.array(RowSchema), next: z.number().nullable() }), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    await findJob(req);
    const { status, after, limit } = req.query;
    const rows = await db.importRow.findMany({
      where: { jobId: req.params.id, status, rowNumber: { gt: after } }, orderBy: { rowNumber: 'asc' }, take: limit,
      select: { rowNumber: true, status: true, problems: true, result: true },
    });
    return {
      rows: rows.map((r) => ({ rowNumber: r.rowNumber, status: r.status, problems: r.problems as z.infer<typeof RowSchema>['problems'], result: r.result as z.infer<typeof RowSchema>['result'] })),
      next: rows.length === limit ? rows[rows.length - 1].rowNumber : null,
    };
  });
};
