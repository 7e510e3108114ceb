/**
 * Importing the existing base: a DMS export of N rows (default 100,000; a customer and a vehicle
 * per row, GBK CSV as Chinese Excel saves it, 1% bad rows) uploaded through the API and imported
 * by the worker's import job. Figures: rows/s from upload to done, and the peak RSS (VmHWM) of the
 * API and the worker, which streaming keeps flat whatever N.
 *
 *   node --import tsx bench/import.ts [--n 100000] [--quick]
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { BenchArgs, createStores, fmt, log, main, mb, memoryOf, Row, sized, sleep, startBenchStack, verdict, vinFor } from './lib';

const STORE = 'bench-import';

function exportFile(n: number): string {
  const lines = ['客户编号,客户姓名,手机号码,车架号,车型,车牌号'];
  for (let i = 0; i < n; i++) {
    // Every hundredth row has a phone number that is none.
    const phone = i % 100 === 99 ? '12345' : `139${String(i).padStart(8, '0')}`;
    lines.push(`C-${i},客户${i},${phone},${vinFor(i)},帕萨特,沪A${String(i % 100000).padStart(5, '0')}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

export async function runImport(args: BenchArgs): Promise<{ rows: Row[]; details?: string }> {
  const n = sized(args, 100_000);
  const bs = await startBenchStack('import', args);
  try {
    await createStores(bs.databaseUrl, [STORE]);
    const file = path.join(bs.dataDir, 'export.csv');
    writeFileSync(file, iconv.encode(exportFile(n), 'gbk'));
    log(`import: ${n} rows, ${mb(statSync(file).size)} GBK CSV`);
    const headers = { authorization: `Bearer ${bs.key}` };
    const t0 = Date.now();
    const res = await fetch(`${bs.stack.apiUrl}/v1/imports?storeId=${STORE}&fileName=export.csv`, {
      method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: readFileSync(file),
    });
    const { id } = (await res.json()) as { id: string };
    if (res.status !== 202) throw new Error(`upload refused: ${res.status}`);
    let job: { status: string; rows: Record<string, number> };
    for (;;) {
      job = await (await fetch(`${bs.stack.apiUrl}/v1/imports/${id}`, { headers })).json() as typeof job;
      if (job.status === 'done' || job.status === 'failed') break;
      await sleep(1000);
    }
    const seconds = (Date.now() - t0) / 1000;
    const api = memoryOf(bs.service('api')!.pid);
    const worker = memoryOf(bs.service('worker')!.pid);
    const r = job.rows;
    log(`import: ${job.status} in ${fmt(seconds)} s: ${JSON.stringify(r)}; API peak ${mb(api.hwm)}, worker peak ${mb(worker.hwm)}`);
    const ok = job.status === 'done' && r.created === n - Math.floor(n / 100) && r.rejected === Math.floor(n / 100);
    return {
      rows: [
        { benchmark: 'import', figure: `${n} rows (GBK CSV, customer + vehicle each, 1% bad): rows/s`, value: fmt(n / seconds, 0), baseline: '', goal: 'every row created or rejected', verdict: verdict(ok) },
        { benchmark: 'import', figure: 'API peak RSS (VmHWM)', value: mb(api.hwm), baseline: '', goal: '', verdict: 'info' },
        { benchmark: 'import', figure: 'worker peak RSS (VmHWM)', value: mb(worker.hwm), baseline: '', goal: '', verdict: 'info' },
      ],
      details: `${n} rows imported in ${fmt(seconds)} s (${JSON.stringify(r)}).`,
    };
  } finally {
    await bs.stop();
  }
}

if (require.main === module) main('Import throughput', runImport);
