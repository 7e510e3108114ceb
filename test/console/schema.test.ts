import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The console's API types (console/src/api/schema.d.ts) are what the server's OpenAPI document
 * says now: a route changed without `npm run console:types` fails here (and the console's
 * typecheck shows where it breaks). The generator runs in its own process: openapi-typescript is ES-only.
 */
jest.setTimeout(120_000);

test('the console\'s generated API types match the served OpenAPI document', async () => {
  const check = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/openapi-types.ts', '--check'], { cwd: path.resolve(__dirname, '..', '..') });
  await expect(check).resolves.toMatchObject({ stdout: expect.stringContaining('is up to date') });
});
