import { api } from './api/client';

type Due = 'today' | 'overdue' | 'upcoming';
const query = (storeId: string, due: Due) => ({ storeId, due, status: 'open' as const, limit: 200 });
const fetchInbox = (storeId: string, due: Due) => api.GET('/v1/tasks', { params: { query: query(storeId, due) } });

/**
 * The inbox's first request, started by the shell the moment the session is known, while React
 * still renders the page around it (a first load otherwise waits for that render before asking).
 */
let early: { storeId: string; call: ReturnType<typeof fetchInbox> } | undefined;

export function prefetchInbox(storeId: string): void {
  early = { storeId, call: fetchInbox(storeId, 'today') };
}

/** The inbox's tasks: the prefetched answer once, when it is the one asked for. */
export function inbox(storeId: string, due: Due): ReturnType<typeof fetchInbox> {
  const prefetched = early?.storeId === storeId && due === 'today' ? early.call : undefined;
  early = undefined;
  return prefetched ?? fetchInbox(storeId, due);
}
