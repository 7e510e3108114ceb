import createClient from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The API, same origin: the browser sends the staff session cookie. Types come from the served
 * OpenAPI document (scripts/openapi-types.ts), so a changed route fails the console's typecheck.
 */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

export type Schemas = paths;

/** An API error body's message, for a toast. */
export function problem(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

/** Data or throw: pages show the thrown message. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown }>): Promise<T> {
  const { data, error } = await call;
  if (error !== undefined || data === undefined) throw new Error(problem(error));
  return data;
}

/** A fresh Idempotency-Key per user action: a retried click is one request. */
export const idempotencyKey = () => crypto.randomUUID();
