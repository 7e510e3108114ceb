/**
 * `npm run import -- --store <id> --file <path>`: uploads a DMS export to the API (POST
 * /v1/imports) and shows the job's progress until it ends, a bar on a terminal and lines in a
 * log (scripts/import-progress.ts). The API key comes from HUIFANG_API_KEY, else the development
 * key `npm start` keeps in DATA_DIR/dev-api-key.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { importProgress, type ImportJobProgress } from './import-progress';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { store: { type: 'string' }, file: { type: 'string' }, api: { type: 'string' } } });
  if (!values.store) throw new Error('--store: required (the store ID)');
  if (!values.file || !existsSync(values.file)) throw new Error('--file: required, an existing CSV or xlsx file');
  const config = loadConfig();
  const base = values.api ?? `http://${config.API_HOST}:${config.API_PORT}`;
  const keyFile = path.join(config.DATA_DIR, 'dev-api-key');
  const key = process.env.HUIFANG_API_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  if (!key) throw new Error('HUIFANG_API_KEY: required (no development key in DATA_DIR)');
  const headers = { authorization: `Bearer ${key}` };

  const fileName = path.basename(values.file);
  const res = await fetch(`${base}/v1/imports?storeId=${encodeURIComponent(values.store)}&fileName=${encodeURIComponent(fileName)}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': /\.xlsx$/i.test(fileName) ? XLSX_TYPE : 'text/csv', 'content-length': String(statSync(values.file).size) },
    body: Readable.toWeb(createReadStream(values.file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const started = await res.json() as { id?: string; message?: string };
  if (res.status !== 202 || !started.id) throw new Error(`upload refused (${res.status}): ${started.message ?? JSON.stringify(started)}`);
  process.stdout.write(`import ${started.id}\n`);

  const progress = importProgress(process.stdout);
  for (;;) {
    const job = await (await fetch(`${base}/v1/imports/${started.id}`, { headers })).json() as ImportJobProgress;
    if (job.status === 'done' || job.status === 'failed') {
      progress.end(job);
      process.stdout.write(`${job.status}${job.error ? `: ${job.error}` : ''}; rejected rows: GET /v1/imports/${started.id}/rows?status=rejected\n`);
      process.exitCode = job.status === 'done' ? 0 : 1;
      return;
    }
    progress.show(job);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`import failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
