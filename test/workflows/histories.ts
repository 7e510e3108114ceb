import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { History } from '@temporalio/worker';

/**
 * Saved histories of the lifecycle workflow, replayed by replay.test.ts against the current code.
 * With RECORD_HISTORIES=1, the time-skipping tests that call recordHistory save theirs as
 * `vehicle-lifecycle-<WORKFLOW_VERSION>-<name>.json`. After a change behind `patched()`, bump
 * WORKFLOW_VERSION and record the scenarios that take the new path, e.g.
 * `RECORD_HISTORIES=1 NODE_OPTIONS=--experimental-vm-modules npx jest test/workflows/vehicle-lifecycle.test.ts -t 'frequency cap'`.
 * Never rewrite or delete older versions' files: they are what running workflows look like.
 */
export const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');
/**
 * v1: the first release. v2: patches 'mark-mandatory-opened-meanwhile' and 'wait-for-deferred-send'.
 * v3: 'escalate-any-dissatisfied-call' and 'stop-missed-timer-on-completion'.
 * v4: 'one-answer-at-a-time', 'required-window-never-moves', 'missed-stays-missed-on-end',
 * 'record-ownership-end'; the recordAnswer update (survey scores and replies too); expiring messages.
 * v5: 'plan-the-years' (the years after delivery beside the plan; the recordVehicleEvent update),
 * 'skip-closed-steps-of-imported'.
 * v6: 'send-on-messaging-queue' (sends on the messaging task queue, at the provider's pace).
 * v7: 'one-timer-for-the-plan' (the plan's steps wait on one timer, the next step's).
 * v8: 'v8-baseline' (a run started on v8 code takes every earlier change without a marker each).
 * v9: 'outreach-days-with-an-open-window' (an outreach call opened after the day's window counts from tomorrow).
 */
export const WORKFLOW_VERSION = 'v9';
/** Each workflow type's file prefix and current version (the case workflow's first is v1). */
const HISTORY_FILES: Record<string, { prefix: string; version: string }> = {
  vehicleLifecycle: { prefix: 'vehicle-lifecycle', version: WORKFLOW_VERSION },
  /** v1: the first release; v2: 'escalate-in-workflow-task' (a passed deadline's climb as a local activity). */
  escalationCase: { prefix: 'escalation-case', version: 'v2' },
  /**
   * v1: reclaim and digest; v2: 'screen-replacement-candidates' (the replacement screening on the morning run);
   * v3: 'screening-heartbeats' (the screening heartbeats and resumes).
   */
  storeDigest: { prefix: 'store-digest', version: 'v3' },
};
const FILE_PATTERN = /^(vehicle-lifecycle|escalation-case|store-digest)-v\d+-[a-z0-9-]+\.json$/;

/**
 * Histories are stored in Temporal's JSON form (as `temporal workflow show --output json` writes
 * them). The SDK's historyToJSON/historyFromJSON fail in this install ("type must be a Type"):
 * @temporalio/common and @temporalio/proto each got their own copy of protobufjs. So the JSON
 * helpers come from the copy that built @temporalio/proto's types.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a path found at run time, which `import` cannot take
const protoJson: ProtoJson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto/package.json'))] }));
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** Saves the history of `runId` (default: the latest run) as `<workflow type>-<version>-<name>.json`, when recording. */
export async function recordHistory(handle: WorkflowHandle, name: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const target = runId ? handle.client.getHandle(handle.workflowId, runId) : handle;
  const history = proto.temporal.api.history.v1.History.fromObject(await target.fetchHistory());
  const { prefix, version } = HISTORY_FILES[history.events[0].workflowExecutionStartedEventAttributes!.workflowType!.name!];
  // Stack traces name files of the recording machine; replay needs neither them nor the identities.
  const json = JSON.parse(JSON.stringify(protoJson.toJson(historyType, history)), (key, value) => (key === 'identity' ? 'recorder' : key === 'stackTrace' ? '' : value));
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(path.join(HISTORIES_DIR, `${prefix}-${version}-${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
}

export function savedHistories(): { file: string; history: History }[] {
  return readdirSync(HISTORIES_DIR)
    .filter((file) => FILE_PATTERN.test(file))
    .sort()
    .map((file) => ({ file, history: protoJson.fromJson(historyType, JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')), { ignoreUnknownFields: true }) }));
}
