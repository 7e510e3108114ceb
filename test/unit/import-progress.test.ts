import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { importProgress, type ImportJobProgress } from '../../scripts/import-progress';

/** An output stream that keeps what was written; a terminal or not. */
function output(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, columns: 160, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, text: () => written.join('') };
}

const job = (status: string, rows: Partial<ImportJobProgress['rows']>): ImportJobProgress => ({
  status, error: null, rows: { read: 0, pending: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, ...rows },
});

describe('the import CLI\'s progress', () => {
  it('writes lines, not a bar, when the output is not a terminal: at most one per interval, only when the figures moved, and always the last', () => {
    let clock = 0;
    const out = output(false);
    const progress = importProgress(out.stream, { now: () => clock, lineEveryMs: 5_000 });
    progress.show(job('reading', { read: 2_000, pending: 2_000 }));
    clock = 1_000;
    progress.show(job('reading', { read: 4_000, pending: 3_500, created: 500 })); // within the interval: no line
    clock = 6_000;
    progress.show(job('applying', { read: 10_000, pending: 7_000, created: 2_500, updated: 400, rejected: 100 }));
    clock = 12_000;
    progress.show(job('applying', { read: 10_000, pending: 7_000, created: 2_500, updated: 400, rejected: 100 })); // nothing moved: no line
    clock = 20_000;
    progress.end(job('done', { read: 10_000, pending: 0, created: 9_000, updated: 700, unchanged: 50, rejected: 250 }));
    expect(out.text().split('\n')).toEqual([
      'reading: 2000 rows so far, 0 done  created 0  updated 0  unchanged 0  rejected 0',
      '3000/10000 rows (30%)  500 rows/s  created 2500  updated 400  unchanged 0  rejected 100',
      '10000/10000 rows (100%)  500 rows/s  created 9000  updated 700  unchanged 50  rejected 250',
      '',
    ]);
    expect(out.text()).not.toContain('\r');
    expect(out.text()).not.toContain('\u001b');
  });

  it('draws a bar with the rows done of the total, the rate and the outcomes on a terminal', () => {
    let clock = 0;
    const out = output(true);
    const progress = importProgress(out.stream, { now: () => clock });
    progress.show(job('reading', { read: 500, pending: 500 }));
    clock = 4_000;
    progress.end(job('done', { read: 1_000, pending: 0, created: 900, updated: 80, unchanged: 15, rejected: 5 }));
    const last = out.text().split('\r').at(-1)!;
    expect(last).toMatch(/█{30} 1000\/1000 rows \| 250 rows\/s \| created 900 {2}updated 80 {2}unchanged 15 {2}rejected 5/);
    expect(out.text()).toContain('\u001b'); // the terminal's cursor codes: a redrawn bar, not lines
  });
});

describe('npm run import, its output piped', () => {
  it('uploads the file, prints the job\'s progress as lines and its end, and exits 0 when the job is done', async () => {
    // The API as the CLI sees it: the upload answers 202, then each poll the job's next state.
    const states = [job('reading', { read: 2, pending: 2 }), job('applying', { read: 3, pending: 1, created: 2 }), job('done', { read: 3, pending: 0, created: 2, rejected: 1 })];
    const uploads: string[] = [];
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        req.on('end', () => {
          uploads.push(`${req.url} ${req.headers.authorization} ${body}`);
          res.statusCode = 202;
          res.end(JSON.stringify({ id: 'job-1' }));
        });
        return;
      }
      res.end(JSON.stringify(states.length > 1 ? states.shift() : states[0]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const file = path.join(tmpdir(), `import-cli-${process.pid}.csv`);
    try {
      writeFileSync(file, '客户姓名,手机号\n王女士,13800138000\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/import.ts', '--store', 'st-a', '--file', file, '--api', `http://127.0.0.1:${(server.address() as AddressInfo).port}`], {
        cwd: path.resolve(__dirname, '..', '..'), env: { ...process.env, HUIFANG_API_KEY: 'test-key' },
      });
      expect(uploads).toEqual([`/v1/imports?storeId=st-a&fileName=${path.basename(file)} Bearer test-key 客户姓名,手机号\n王女士,13800138000\n`]);
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toBe('import job-1');
      expect(lines[1]).toMatch(/^reading: 2 rows so far, 0 done {2}created 0 {2}updated 0 {2}unchanged 0 {2}rejected 0$/);
      expect(lines.at(-2)).toMatch(/^3\/3 rows \(100%\) {2}\d+ rows\/s {2}created 2 {2}updated 0 {2}unchanged 0 {2}rejected 1$/);
      expect(lines.at(-1)).toBe('done; rejected rows: GET /v1/imports/job-1/rows?status=rejected');
      expect(stdout).not.toContain('\u001b');
    } finally {
      server.close();
      rmSync(file, { force: true });
    }
  }, 60_000);
});
