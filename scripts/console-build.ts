import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The console's production build (Vite into console/dist), made when dist is missing or older
 * than anything it is built from. `npm start` and the console's tests run this first; a fresh
 * build takes about 20 s on two cores, the check alone a few milliseconds.
 */
const ROOT = path.resolve(__dirname, '..');
const CONSOLE = path.join(ROOT, 'console');
const BUILT = path.join(CONSOLE, 'dist', 'index.html');
/** What the bundle is made of: the console's sources, the domain code it imports, and the installed packages. */
const SOURCES = [path.join(CONSOLE, 'src'), path.join(CONSOLE, 'index.html'), path.join(CONSOLE, 'vite.config.mts'), path.join(ROOT, 'src', 'domain', 'sms-segments.ts'), path.join(ROOT, 'package-lock.json')];

function newest(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(file).map((entry) => newest(path.join(file, entry))));
}

export function consoleIsStale(): boolean {
  return !existsSync(BUILT) || Math.max(...SOURCES.filter(existsSync).map(newest)) > statSync(BUILT).mtimeMs;
}

/** Builds the console if it is stale; answers the build's duration in ms (0 when it was fresh). */
export async function ensureConsoleBuilt(): Promise<number> {
  if (!consoleIsStale()) return 0;
  const started = Date.now();
  // Vite is ES-only: loaded at run time, and only when a build is due.
  const { build } = await (new Function('m', 'return import(m)') as (m: string) => Promise<typeof import('vite')>)('vite');
  await build({ root: CONSOLE, configFile: path.join(CONSOLE, 'vite.config.mts') });
  precompress(path.join(CONSOLE, 'dist', 'assets'));
  return Date.now() - started;
}

/**
 * Brotli and gzip copies of the scripts and styles, once per build: the API serves them as they are
 * (@fastify/static preCompressed), a quarter of the bytes, with no compression work per request.
 */
function precompress(dir: string): void {
  for (const name of readdirSync(dir).filter((f) => /\.(js|css)$/.test(f))) {
    const file = path.join(dir, name);
    const body = readFileSync(file);
    writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }));
    writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
  }
}

if (require.main === module) {
  void ensureConsoleBuilt().then((ms) => console.log(ms ? `console built in ${(ms / 1000).toFixed(1)} s` : 'console is up to date'), (err) => {
    console.error(err);
    process.exit(1);
  });
}
