import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack';
import { temporalBinaries } from '../src/temporal/toolchain';

/**
 * Once per `jest` run: fetch the Temporal binaries if needed, and start one embedded PostgreSQL
 * in a temporary folder. Each test file then creates its own database in it (test/helpers/db.ts).
 */
export default async function globalSetup(): Promise<void> {
  const bins = temporalBinaries();
  process.env.TEMPORAL_CLI_PATH = bins.cli;
  process.env.TEMPORAL_TEST_SERVER_PATH = bins.testServer;

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-test-pg-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/db/embedded-postgres.ts'], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code}`)));
  });
  process.env.TEST_PG_URL = url;
  process.env.TEST_PG_DATA_DIR = dataDir;
  (globalThis as Record<string, unknown>).__huifangPg = child;
}
