import { createContext, useContext } from 'react';
import type { paths } from './api/schema';

export type Me = paths['/v1/auth/me']['get']['responses'][200]['content']['application/json'];

/** The signed-in person, the store they work in now, and their roles there. */
export const SessionContext = createContext<{ me: Me; storeId: string; roles: string[] }>(null as never);
export const useSession = () => useContext(SessionContext);
