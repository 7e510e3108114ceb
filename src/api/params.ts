import { z } from 'zod';
import { StoreIdSchema } from '../domain/ids';

/** A store in a route's path (`/v1/stores/:storeId/...`). */
export const StoreParamsSchema = z.object({ storeId: StoreIdSchema });
