/**
 * The import job's activities. Reading stores every data row (validated, or rejected with its
 * problems) as an ImportRow; applying takes the pending rows a chunk at a time. Both resume from
 * the database after a crash: reading skips the rows already stored, and a chunk takes only rows
 * still pending, each applied by natural keys, so nothing is read, created or sent twice.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Prisma } from '../generated/prisma/client';
import { applyRecord, type Known, laneKey, prefetch, RowRejected, type RowResult } from '../import/apply';
import { headerProblem } from '../import/columns';
import { type ImportFormat, openImportFile } from '../import/read';
import { type ImportRecord, parseRow, type RowProblem } from '../import/row';
import type { ActivityDeps } from './deps';

/** Rows written to the database in one statement while reading. */
const READ_BATCH = 1_000;
/** Rows of a chunk applied at once (rows of one vehicle or customer always in turn, in file order). */
const LANES = 8;
const HEARTBEAT_EVERY_MS = 5_000;

export interface ApplyChunkResult {
  applied: number;
  /** Rows still pending after this chunk. */
  pending: boolean;
}

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

export const createImportActivities = ({ db, logger }: ActivityDeps) => ({
  /** Reads the file into ImportRows; returns the number of data rows. A job whose file cannot be imported fails. */
  async readImportFile(jobId: string): Promise<number> {
    const job = await db.importJob.findUniqueOrThrow({ where: { id: jobId } });
    const last = await db.importRow.findFirst({ where: { jobId }, orderBy: { rowNumber: 'desc' }, select: { rowNumber: true } });
    const file = await openImportFile(job.filePath, job.format as ImportFormat).catch((err: Error) => {
      throw ApplicationFailure.nonRetryable(`the file cannot be read as ${job.format}: ${err.message}`, 'ImportFileUnreadable');
    });
    const problem = headerProblem(file.header);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'ImportFileUnreadable');
    await db.importJob.update({ where: { id: jobId }, data: { status: 'reading', encoding: file.encoding } });

    let batch: Prisma.ImportRowCreateManyInput[] = [];
    let read = last?.rowNumber ? await db.importRow.count({ where: { jobId } }) : 0;
    let beat = Date.now();
    const flush = async () => {
      if (batch.length === 0) return;
      await db.importRow.createMany({ data: batch, skipDuplicates: true });
      read += batch.length;
      batch = [];
      await db.importJob.update({ where: { id: jobId }, data: { rowsRead: read } });
      if (Date.now() - beat > HEARTBEAT_EVERY_MS) {
        Context.current().heartbeat(read);
        beat = Date.now();
      }
    };
    try {
      for await (const { rowNumber, raw } of file.rows) {
        if (last && rowNumber <= last.rowNumber) continue;
        const parsed = parseRow(raw, file.header);
        batch.push(parsed.ok
          ? { jobId, rowNumber, status: 'pending', data: parsed.record as Prisma.InputJsonValue }
          : { jobId, rowNumber, status: 'rejected', problems: parsed.problems as unknown as Prisma.InputJsonValue });
        if (batch.length >= READ_BATCH) await flush();
      }
    } catch (err) {
      // A broken quote or a corrupt zip: the rows read so far stay, and the job says where reading stopped.
      if (err instanceof ApplicationFailure) throw err;
      await flush();
      throw ApplicationFailure.nonRetryable(`the file could not be read past data row ${read}: ${(err as Error).message}`, 'ImportFileUnreadable');
    }
    await flush();
    await db.importJob.update({ where: { id: jobId }, data: { status: 'applying', rowsRead: read } });
    logger.info({ jobId, rows: read, encoding: file.encoding }, 'import file read');
    return read;
  },

  /** Applies up to `size` pending rows, oldest first. */
  async applyImportChunk({ jobId, size }: { jobId: string; size: number }): Promise<ApplyChunkResult> {
    const job = await db.importJob.findUniqueOrThrow({ where: { id: jobId }, include: { store: true } });
    const rows = await db.importRow.findMany({ where: { jobId, status: 'pending' }, orderBy: { rowNumber: 'asc' }, take: size, select: { rowNumber: true, data: true } });
    const { client, info } = Context.current();
    const deps = { db, temporal: client, taskQueue: info.taskQueue };

    const lanes = new Map<string, { rowNumber: number; record: ImportRecord }[]>();
    for (const row of rows) {
      const record = row.data as unknown as ImportRecord;
      const key = laneKey(record);
      if (!lanes.has(key)) lanes.set(key, []);
      lanes.get(key)!.push({ rowNumber: row.rowNumber, record });
    }
    const known = await prefetch(db, job.storeId, rows.map((r) => r.data as unknown as ImportRecord));
    const outcomes: { rowNumber: number; status: string; result: RowResult | null; problems: RowProblem[] | null }[] = [];
    const applyOne = async ({ rowNumber, record }: { rowNumber: number; record: ImportRecord }) => {
      try {
        const result = await applyRecord(deps, job.store, record, known).catch((err: unknown) => {
          if (!isUniqueViolation(err)) throw err;
          // Another lane created the same customer meanwhile: this row finds it on its second try.
          forget(known, record);
          return applyRecord(deps, job.store, record, known);
        });
        outcomes.push({ rowNumber, status: rowStatus(result), result, problems: null });
      } catch (err) {
        if (!(err instanceof RowRejected)) throw err;
        outcomes.push({ rowNumber, status: 'rejected', result: null, problems: err.problems });
      }
    };
    // Keys spread over LANES workers; each worker applies its keys' rows in file order.
    const queues = Array.from({ length: LANES }, () => [] as { rowNumber: number; record: ImportRecord }[]);
    let i = 0;
    for (const laneRows of lanes.values()) queues[i++ % LANES].push(...laneRows);
    await Promise.all(queues.map(async (queue) => {
      for (const row of queue) {
        await applyOne(row);
        Context.current().heartbeat();
      }
    }));
    // One statement for the chunk's outcomes. A crash before it re-applies the chunk, which creates
    // nothing twice (natural keys) but reports what was created before the crash as unchanged.
    await db.$executeRaw`
      UPDATE "ImportRow" AS r SET status = v.status, result = v.result::jsonb, problems = v.problems::jsonb, data = NULL
      FROM unnest(${outcomes.map((o) => o.rowNumber)}::int[], ${outcomes.map((o) => o.status)}::text[],
                  ${outcomes.map((o) => (o.result ? JSON.stringify(o.result) : null))}::text[],
                  ${outcomes.map((o) => (o.problems ? JSON.stringify(o.problems) : null))}::text[]) AS v(row_number, status, result, problems)
      WHERE r."jobId" = ${jobId}::uuid AND r."rowNumber" = v.row_number`;
    const pending = await db.importRow.findFirst({ where: { jobId, status: 'pending' }, select: { rowNumber: true } });
    return { applied: rows.length, pending: pending !== null };
  },

  async finishImport({ jobId, error }: { jobId: string; error?: string }): Promise<void> {
    await db.importJob.update({ where: { id: jobId }, data: { status: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date() } });
  },
});

function forget(known: Known, record: ImportRecord): void {
  if (record.customer) known.customers.delete(record.customer.externalId ? `id:${record.customer.externalId}` : `phone:${record.customer.phone}`);
  if (record.vehicle) known.vehicles.delete(record.vehicle.vin);
}

/** A row created something if any part was created; else updated (or sent to the workflow) if any was; else unchanged. */
function rowStatus(result: RowResult): 'created' | 'updated' | 'unchanged' {
  const actions = Object.values(result).map((part) => part.action);
  if (actions.includes('created')) return 'created';
  if (actions.includes('updated') || actions.includes('recorded')) return 'updated';
  return 'unchanged';
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
