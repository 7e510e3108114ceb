import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack';

/**
 * `npm run db:migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with
 * the SQL that turns the schema of the last commit (or --from FILE) into prisma/schema.prisma.
 * `prisma migrate diff` needs a database that answers, even for a schema-to-schema diff, so this
 * starts a throwaway embedded PostgreSQL unless DATABASE_URL is set.
 */
const ROOT = path.resolve(__dirname, '..');

async function withDatabase<T>(fn: (url: string) => T): Promise<T> {
  if (process.env.DATABASE_URL) return fn(process.env.DATABASE_URL);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'huifang-diff-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/db/embedded-postgres.ts'], {
    cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => { const m = /READY (\S+)/.exec(c.toString()); if (m) resolve(m[1]); });
    child.once('exit', () => reject(new Error('embedded PostgreSQL did not start')));
  });
  try {
    return fn(url);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const fromIndex = args.indexOf('--from');
  const fromFile = fromIndex >= 0 ? args.splice(fromIndex, 2)[1] : undefined;
  const name = args[0];
  if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: npm run db:migration -- <snake_case_name> [--from old-schema.prisma]');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'huifang-schema-'));
  const from = path.join(tmp, 'from.prisma');
  writeFileSync(from, fromFile ? readFileSync(fromFile) : execFileSync('git', ['show', 'HEAD:prisma/schema.prisma'], { cwd: ROOT }));
  const sql = await withDatabase((url) => execFileSync('npx', ['prisma', 'migrate', 'diff', '--from-schema-datamodel', from, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'], {
    cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  }));
  rmSync(tmp, { recursive: true, force: true });
  if (!sql.trim() || /^-- This is an empty migration/.test(sql.trim())) {
    process.stdout.write('schema.prisma has not changed since the last commit: nothing to write\n');
    return;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(ROOT, 'prisma', 'migrations', `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'migration.sql'), sql);
  process.stdout.write(`wrote ${path.relative(ROOT, dir)}/migration.sql\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
