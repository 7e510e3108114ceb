import { Presets, SingleBar } from 'cli-progress';

/** What GET /v1/imports/:id answers, as far as the progress shows it. */
export interface ImportJobProgress {
  status: string;
  error: string | null;
  rows: Record<'read' | 'pending' | 'created' | 'updated' | 'unchanged' | 'rejected', number>;
}

/** Rows done (read and no longer pending), of the rows read so far, and the pace since the import started. */
export function progressFigures(job: ImportJobProgress, elapsedMs: number) {
  const r = job.rows;
  const done = r.read - r.pending;
  return { ...r, done, total: r.read, rowsPerSecond: elapsedMs > 0 ? Math.round(done / (elapsedMs / 1000)) : 0 };
}

const outcomes = (f: ReturnType<typeof progressFigures>) => `created ${f.created}  updated ${f.updated}  unchanged ${f.unchanged}  rejected ${f.rejected}`;

/** One line for a log: what the bar shows, in words. */
export function progressLine(job: ImportJobProgress, elapsedMs: number): string {
  const f = progressFigures(job, elapsedMs);
  if (job.status === 'reading') return `reading: ${f.total} rows so far, ${f.done} done  ${outcomes(f)}`;
  const percent = f.total > 0 ? Math.floor((f.done / f.total) * 100) : 100;
  return `${f.done}/${f.total} rows (${percent}%)  ${f.rowsPerSecond} rows/s  ${outcomes(f)}`;
}

export interface ProgressView {
  show(job: ImportJobProgress): void;
  /** The last figures and the job's end. */
  end(job: ImportJobProgress): void;
}

/**
 * The import's progress on `out`: a live bar (cli-progress) on a terminal; on anything else (a
 * pipe, a CI log) a line when the figures changed, at most one per `lineEveryMs`, and always the
 * last, so a log holds a few readable lines rather than a bar's redraws.
 */
export function importProgress(out: NodeJS.WriteStream, { now = Date.now, lineEveryMs = 5_000 } = {}): ProgressView {
  const started = now();
  if (out.isTTY) {
    const bar = new SingleBar({
      stream: out, hideCursor: true, barsize: 30,
      format: '{bar} {value}/{total} rows | {speed} rows/s | created {created}  updated {updated}  unchanged {unchanged}  rejected {rejected}',
    }, Presets.shades_classic);
    let running = false;
    const draw = (job: ImportJobProgress) => {
      const f = progressFigures(job, now() - started);
      const payload = { speed: f.rowsPerSecond, created: f.created, updated: f.updated, unchanged: f.unchanged, rejected: f.rejected };
      if (!running) bar.start(f.total, f.done, payload);
      running = true;
      // The total grows while the file is still being read.
      bar.setTotal(f.total);
      bar.update(f.done, payload);
    };
    return {
      show: draw,
      end: (job) => {
        draw(job);
        bar.stop();
      },
    };
  }
  let lastAt = -Infinity;
  let last = '';
  /** The figures apart from the pace: a line is worth writing when they moved. */
  const figures = (job: ImportJobProgress) => JSON.stringify([job.status, job.rows]);
  const write = (job: ImportJobProgress) => {
    last = figures(job);
    lastAt = now();
    out.write(`${progressLine(job, lastAt - started)}\n`);
  };
  return {
    show: (job) => {
      if (now() - lastAt >= lineEveryMs && figures(job) !== last) write(job);
    },
    end: (job) => {
      if (figures(job) !== last) write(job);
    },
  };
}
