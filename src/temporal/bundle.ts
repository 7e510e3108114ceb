/**
 * How the worker bundles its workflows; the tests' workers bundle them alike (test/helpers/temporal.ts).
 *
 * A sleeping workflow woken outside the worker's cache is replayed in a fresh copy of every module
 * of the bundle, luxon's empty caches included (a morning burst replays every reminder's workflow
 * twice: docs/SCALING.md). These modules hold no state of any one workflow, so they are loaded once
 * per worker and shared by all workflows, frozen by the SDK, their time-zone caches warm: a replay
 * about 20% cheaper. A module added here must keep no workflow's state and change none of its exports.
 */
const SHARED_MODULES = ['luxon', '../domain/local-time', '../domain/schedule', '../domain/years', '../domain/lifecycle', '../domain/replacement'];

export function workflowBundlerOptions(): { preloadModules: string[] } {
  return { preloadModules: SHARED_MODULES.map((m) => require.resolve(m)) };
}
