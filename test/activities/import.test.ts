import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createImportActivities } from '../../src/activities/import';
import type { Db } from '../../src/db/client';
import { vinCheckDigit } from '../../src/domain/vin';
import { Prisma } from '../../src/generated/prisma/client';
import { createStore } from '../../src/services/stores';
import { createTestDatabase } from '../helpers/db';

/**
 * A worker that crashes in the middle of an import: its retry resumes from the database, reading
 * no row twice and creating no customer or vehicle twice.
 */
const ROWS = 1_200;
const CHUNK = 400;
jest.setTimeout(180_000);
const BAD_EVERY = 50;

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let activities: ReturnType<typeof createImportActivities>;

function vin(serial: number): string {
  const draft = `LSVAU2180N2${String(serial).padStart(6, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

// These rows name no delivery nor service: the activities never call Temporal.
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR'), client: { withAbortSignal: (_signal: AbortSignal, fn: () => unknown) => fn() } as unknown as Client }).run(fn, ...args);

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  activities = createImportActivities({ db, logger: pino({ level: 'silent' }) } as Parameters<typeof createImportActivities>[0]);
  await createStore(db, { id: 'crash', name: '测试店', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-8888' }, 'test');
});

afterAll(async () => {
  await t?.drop();
});

it('resumes reading and applying after a crash without reading or creating anything twice', async () => {
  const lines = ['客户编号,客户姓名,手机号码,车架号,车型'];
  for (let i = 0; i < ROWS; i++) lines.push(`C-${i},客户${i},${i % BAD_EVERY === 0 ? '123' : `139${String(i).padStart(8, '0')}`},${vin(i)},帕萨特`);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'import-')), 'export.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const job = await db.importJob.create({ data: { storeId: 'crash', fileName: 'export.csv', filePath: file, format: 'csv', sizeBytes: 1, createdBy: 'test' } });

  expect(await run(activities.readImportFile, job.id)).toBe(ROWS);
  // The first reading died after its first batch: the retry reads on from there.
  await db.importRow.deleteMany({ where: { jobId: job.id, rowNumber: { gt: 601 } } });
  expect(await run(activities.readImportFile, job.id)).toBe(ROWS);
  expect(await db.importRow.count({ where: { jobId: job.id } })).toBe(ROWS);

  // The first chunk (pending rows only: the rejected were never pending) wrote its customers and vehicles, then died before recording its rows' outcomes.
  const firstChunk = await db.importRow.findMany({ where: { jobId: job.id, status: 'pending' }, orderBy: { rowNumber: 'asc' }, take: CHUNK });
  expect(await run(activities.applyImportChunk, { jobId: job.id, size: CHUNK })).toEqual({ applied: CHUNK, pending: true });
  for (const row of firstChunk) {
    await db.importRow.update({ where: { jobId_rowNumber: { jobId: job.id, rowNumber: row.rowNumber } }, data: { status: 'pending', data: row.data as Prisma.InputJsonValue, result: Prisma.DbNull } });
  }
  let chunk;
  do chunk = await run(activities.applyImportChunk, { jobId: job.id, size: CHUNK });
  while (chunk.pending);

  const good = ROWS - ROWS / BAD_EVERY;
  expect(await db.customer.count({ where: { storeId: 'crash' } })).toBe(good);
  expect(await db.vehicle.count({ where: { storeId: 'crash' } })).toBe(good);
  const counts = Object.fromEntries((await db.importRow.groupBy({ by: ['status'], where: { jobId: job.id }, _count: { _all: true } })).map((c) => [c.status, c._count._all]));
  // What the crashed chunk created reads as unchanged on its retry; nothing is created twice.
  expect(counts).toEqual({ created: good - CHUNK, unchanged: CHUNK, rejected: ROWS / BAD_EVERY });
});
