import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as Record<string, unknown>).__huifangPg as ChildProcess | undefined;
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  if (process.env.TEST_PG_DATA_DIR) rmSync(process.env.TEST_PG_DATA_DIR, { recursive: true, force: true });
}
