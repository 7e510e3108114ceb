import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../helpers/temporal';
import { savedHistories } from './histories';

/**
 * Every saved history (test/histories) must replay on the current workflow code: a change that
 * would break running workflows fails here instead of in production. Such changes go behind
 * `patched('<change-id>')` (see src/workflows/vehicle-lifecycle.ts).
 */
beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
});

describe('saved lifecycle workflow histories', () => {
  const histories = savedHistories();

  it('exist for the first workflow version', () => {
    expect(histories.filter((h) => h.file.startsWith('vehicle-lifecycle-v1-')).length).toBeGreaterThanOrEqual(5);
  });

  it('replay on the current workflow code without non-determinism', async () => {
    const failures: string[] = [];
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories.map(({ file, history }) => ({ workflowId: file, history })),
    );
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
