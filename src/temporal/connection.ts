import { readFileSync } from 'node:fs';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Config } from '../config';

/** Connection settings shared by the worker (NativeConnection) and the API (Connection). */
export function temporalConnectionOptions(config: Config) {
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
  const mtls = config.TEMPORAL_TLS_CERT_PATH && config.TEMPORAL_TLS_KEY_PATH
    ? { clientCertPair: { crt: readFileSync(config.TEMPORAL_TLS_CERT_PATH), key: readFileSync(config.TEMPORAL_TLS_KEY_PATH) } }
    : {};
  const tls = config.TEMPORAL_TLS || config.TEMPORAL_API_KEY || config.TEMPORAL_TLS_CERT_PATH ? mtls : undefined;
  return { address, tls, apiKey: config.TEMPORAL_API_KEY };
}

export function workflowIdFor(storeId: string, vin: string): string {
  return `vehicle-${storeId}-${vin}`;
}

/**
 * Search attributes carry IDs only, never personal data: operators find a store's or a delivery's
 * workflows with them (`HuifangStoreId = "sh-pudong"`). A cluster must have them registered
 * (README, "Production"); the embedded dev server registers them at start.
 */
export const STORE_ID_ATTRIBUTE = defineSearchAttributeKey('HuifangStoreId', SearchAttributeType.KEYWORD);
export const DELIVERY_ID_ATTRIBUTE = defineSearchAttributeKey('HuifangDeliveryId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [STORE_ID_ATTRIBUTE, DELIVERY_ID_ATTRIBUTE];
