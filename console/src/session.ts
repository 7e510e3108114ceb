import { createContext, useContext } from 'react';
import { api } from './api/client';
import type { paths } from './api/schema';

export type Me = paths['/v1/auth/me']['get']['responses'][200]['content']['application/json'];

/**
 * The session the page opened with (null: signed out), asked for as the script starts: the answer
 * index.html asked for early, when it has one (api/client.ts). An unreachable API shows the sign-in,
 * whose own request then says what failed.
 */
export const openingSession: Promise<Me | null> = api.GET('/v1/auth/me').then(({ data }) => data ?? null, () => null);

/** The signed-in person, the store they work in now, and their roles there. */
export const SessionContext = createContext<{ me: Me; storeId: string; roles: string[] }>(null as never);
export const useSession = () => useContext(SessionContext);
