/**
 * One import of the existing base (`import-<jobId>`): read the file into rows, then apply them a
 * chunk at a time. Each activity resumes from the database, so a crashed worker's retry neither
 * skips nor repeats a row; the job's progress is in its rows, which the API counts.
 */
import { ActivityFailure, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ImportJobInput } from './contract';

const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };

const { readImportFile } = proxyActivities<Activities>({ startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute', retry: RETRY });
const { applyImportChunk, finishImport } = proxyActivities<Activities>({ startToCloseTimeout: '15 minutes', heartbeatTimeout: '1 minute', retry: RETRY });

/** Rows per chunk: large enough to keep history short (100 activities for 100,000 rows), small enough to retry cheaply. */
export const IMPORT_CHUNK_ROWS = 1_000;

export async function importJob(input: ImportJobInput): Promise<void> {
  try {
    if (!input.read) await readImportFile(input.jobId);
    for (;;) {
      const { pending } = await applyImportChunk({ jobId: input.jobId, size: IMPORT_CHUNK_ROWS });
      if (!pending) break;
      if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof importJob>({ jobId: input.jobId, read: true });
    }
    await finishImport({ jobId: input.jobId });
  } catch (err) {
    // Only a non-retryable failure gets here (an unreadable file): the job's row says why, and the workflow fails visibly.
    if (!(err instanceof ActivityFailure)) throw err;
    await finishImport({ jobId: input.jobId, error: err.cause?.message ?? err.message });
    throw err;
  }
}
