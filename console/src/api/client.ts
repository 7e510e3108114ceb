import type { FormInstance } from 'antd';
import createClient from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The API, same origin: the browser sends the staff session cookie. Types come from the served
 * OpenAPI document (scripts/openapi-types.ts), so a changed route fails the console's typecheck.
 */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

declare global {
  interface Window {
    /** GETs index.html started before the scripts loaded, by URL (the session, the inbox's first page). */
    huifangEarly?: Record<string, Promise<Response>>;
  }
}
/**
 * An early answer serves the first load only: a GET asked for later, or after a sign-in or sign-out
 * (any other method), is fetched afresh, never served old or to someone else.
 */
const EARLY_FOR_MS = 10_000;
api.use({
  async onRequest({ request }) {
    if (request.method !== 'GET') window.huifangEarly = undefined;
    const url = request.url.slice(window.location.origin.length);
    const early = performance.now() < EARLY_FOR_MS ? window.huifangEarly?.[url] : undefined;
    if (!early) return undefined;
    delete window.huifangEarly![url];
    // A failed early request is asked again, as if there had been none.
    return early.catch(() => undefined);
  },
});

export type Schemas = paths;

/** An API error body's message, for a toast. */
export function problem(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

type Issue = { field: string; message: string };

/**
 * A 400's field errors on the form's own fields: "openingHours.2.end" lands on the field
 * ['openingHours', 2, 'end'], or on the nearest field it belongs to. Answers the messages no field
 * took (for a toast); `rename` maps an API field to a form field first.
 */
export function showIssues(form: FormInstance, error: unknown, rename: (field: string) => string = (f) => f): string[] {
  const issues = (error && typeof error === 'object' && 'issues' in error ? (error as { issues?: Issue[] }).issues : undefined) ?? [];
  if (issues.length === 0) return [problem(error)];
  const names = form.getFieldsError().map((f) => f.name);
  const left: string[] = [];
  const byField = new Map<string, { name: (string | number)[]; errors: string[] }>();
  for (const issue of issues) {
    const path = rename(issue.field).split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const name = names.filter((n) => n.length <= path.length && n.every((p, i) => p === path[i])).sort((a, b) => b.length - a.length)[0];
    if (!name) left.push(`${issue.field}: ${issue.message}`);
    else {
      const key = name.join('.');
      byField.set(key, { name, errors: [...(byField.get(key)?.errors ?? []), issue.message] });
    }
  }
  form.setFields([...byField.values()]);
  return left;
}

/** Data or throw: pages show the thrown message. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown }>): Promise<T> {
  const { data, error } = await call;
  if (error !== undefined || data === undefined) throw new Error(problem(error));
  return data;
}

/** A fresh Idempotency-Key per user action: a retried click is one request. */
export const idempotencyKey = () => crypto.randomUUID();
