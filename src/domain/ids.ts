import { z } from 'zod';
import { safeText } from './text';

/**
 * Identifiers that arrive in paths, queries, bodies and import files. A value that cannot name a
 * record is a 400 naming the field, never a query that PostgreSQL refuses (a NUL) or a 404 that
 * hides a typo.
 */
export const StoreIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'a store ID: lower-case letters, digits and dashes, e.g. sh-pudong');

/** An ID from the dealer's own systems (DMS customer, staff or order number). */
export const ExternalIdSchema = safeText(64);
