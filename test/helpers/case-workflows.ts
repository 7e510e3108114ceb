import type { CaseWorkflows } from '../../src/services/cases';

/**
 * For activity and webhook tests without a Temporal server: a client that only records which case
 * workflows were started (their IDs, in order). Tests of the case workflow itself use a real one.
 */
export function recordingCaseWorkflows(): CaseWorkflows & { started: string[] } {
  const started: string[] = [];
  const workflow = {
    start: async (_type: string, options: { workflowId: string }) => {
      started.push(options.workflowId);
    },
  };
  return { started, taskQueue: 'test', temporal: { workflow } as unknown as CaseWorkflows['temporal'] };
}
