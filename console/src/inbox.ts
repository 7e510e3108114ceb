import { api } from './api/client';

type Due = 'today' | 'overdue' | 'upcoming';

/**
 * The inbox's tasks. index.html asks for the first page of 'today' before the scripts load, with
 * this same URL: keep the two alike, or the first load waits for its own request again.
 */
export function inbox(storeId: string, due: Due) {
  return api.GET('/v1/tasks', { params: { query: { storeId, due, status: 'open', limit: 200 } } });
}
