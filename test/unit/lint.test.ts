import path from 'node:path';
import { ESLint } from 'eslint';

/**
 * Workflow code is replayed in Temporal's sandbox: the lint rule in eslint.config.mjs keeps Node
 * built-ins and activity implementations out of src/workflows, while activity types stay allowed.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the workflow lint rule', () => {
  it.each([
    ['a node: built-in', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n"],
    ['a bare built-in', "import { randomUUID } from 'crypto';\nexport const id = randomUUID;\n"],
    ['child_process', "import { spawn } from 'child_process';\nexport const run = spawn;\n"],
    ['the activities module', "import { createActivities } from '../activities';\nexport const make = createActivities;\n"],
    ['one activity file', "import { createMessagingActivities } from '../activities/messaging';\nexport const make = createMessagingActivities;\n"],
  ])('refuses %s in src/workflows', async (_, code) => {
    expect(await problems('src/workflows/probe.ts', code)).toEqual([expect.stringMatching(/^@typescript-eslint\/no-restricted-imports: /)]);
  });

  it('refuses the environment in src/workflows', async () => {
    expect(await problems('src/workflows/probe.ts', 'export const queue = process.env.TEMPORAL_TASK_QUEUE;\n'))
      .toEqual([expect.stringMatching(/^no-restricted-globals: /)]);
  });

  it('allows activity types in src/workflows, and built-ins elsewhere', async () => {
    expect(await problems('src/workflows/probe.ts', "import type { Activities } from '../activities';\nexport type A = Activities;\n")).toEqual([]);
    expect(await problems('src/activities/probe.ts', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n")).toEqual([]);
  });
});
