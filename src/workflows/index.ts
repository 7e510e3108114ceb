// The worker's workflow bundle: deterministic code only (see STYLE.md).
export { vehicleLifecycle } from './vehicle-lifecycle';
export { escalationCase } from './escalation-case';
export { storeDigest } from './store-digest';
export { importJob } from './import-job';
