/**
 * The import job's activities. Reading stores every data row (validated, or rejected with its
 * problems) as an ImportRow; applying takes the pending rows a chunk at a time. Both resume from
 * the database after a crash: reading skips the rows already stored, and a chunk takes only rows
 * still pending, each applied by natural keys, so nothing is read, created or sent twice.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Prisma } from '../generated/prisma/client';
import { applyRecord, laneKey, RowRejected, type RowResult } from '../import/apply';
import { headerProblem } from '../import/columns';
import { type ImportFormat, openImportFile } from '../import/read';
import { type ImportRecord, parseRow } from '../import/row';
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
    const applyOne = async ({ rowNumber, record }: { rowNumber: number; record: ImportRecord }) => {
      let outcome: { status: string; result?: RowResult; problems?: unknown };
      try {
        // Two lanes may create the same customer at once: the loser finds it on its second try.
        const result = await applyRecord(deps, job.store, record).catch((err: unknown) => {
          if (isUniqueViolation(err)) return applyRecord(deps, job.store, record);
          throw err;
        });
        outcome = { status: rowStatus(result), result };
      } catch (err) {
        if (!(err instanceof RowRejected)) throw err;
        outcome = { status: 'rejected', problems: err.problems };
      }
      await db.importRow.update({
        where: { jobId_rowNumber: { jobId, rowNumber } },
        data: { status: outcome.status, data: Prisma.DbNull, result: (outcome.result ?? Prisma.DbNull) as Prisma.InputJsonValue, problems: (outcome.problems ?? Prisma.DbNull) as Prisma.InputJsonValue },
      });
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
    const pending = await db.importRow.findFirst({ where: { jobId, status: 'pending' }, select: { rowNumber: true } });
    return { applied: rows.length, pending: pending !== null };
  },

  async finishImport({ jobId, error }: { jobId: string; error?: string }): Promise<void> {
    await db.importJob.update({ where: { id: jobId }, data: { status: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date() } });
  },
});

/** A row created something if any part was created; else updated (or sent to the workflow) if any was; else unchanged. */
function rowStatus(result: RowResult): 'created' | 'updated' | 'unchanged' {
  const actions = Object.values(result).map((part) => part.action);
  if (actions.includes('created')) return 'created';
  if (actions.includes('updated') || actions.includes('recorded')) return 'updated';
  return 'unchanged';
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
