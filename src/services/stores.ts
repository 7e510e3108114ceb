/**
 * Stores, their plans and API keys: what the API's admin routes, the admin CLI and `npm start`
 * do alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { conflict, notFound } from './errors';
import { StoreIdSchema } from '../domain/ids';
import type { Db } from '../db/client';
import { isValidTimeZone } from '../domain/contact-window';
import { checkPhone } from '../domain/phone';
import { DEFAULT_PLAN } from '../domain/plan';
import { safeName } from '../domain/text';
import type { Prisma } from '../generated/prisma/client';
import { auditActorOfLabel, recordAudit } from './audit';

type Tx = Prisma.TransactionClient;

export const StoreInputSchema = z.strictObject({
  id: StoreIdSchema,
  name: safeName(100),
  timeZone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
  /**
   * Required: the built-in farewell SMS gives it (and the consultant's phone, which falls back to
   * it), and so does the reply to HELP. Kept as the store writes it, e.g. 400-800-1234.
   */
  serviceHotline: z.string({ error: 'required: the farewell SMS and the HELP reply give customers this number' }).trim().max(30)
    .refine((raw) => checkPhone(raw, 'call').ok, 'must be a number customers can call, e.g. 400-800-1234 or 021-6279 8888'),
});

/** A store and its first plan version (the default plan) in one transaction. */
export async function createStore(db: Db, input: z.infer<typeof StoreInputSchema>, createdBy: string) {
  return db.$transaction(async (tx) => {
    if (await tx.store.findUnique({ where: { id: input.id } })) throw conflict(`store ${input.id} exists`);
    const store = await tx.store.create({ data: input });
    await createDefaultPlan(tx, store.id, createdBy);
    await recordAudit(tx, { ...auditActorOfLabel(createdBy), action: 'store.create', entity: 'store', entityId: store.id, storeId: store.id, after: store });
    return store;
  });
}

/** What is stored of an API key: its SHA-256 (a key is 24 random bytes, so a fast hash cannot be guessed back). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `hf_${randomBytes(24).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/** `createdBy` labels who issued it ("api-key:<id>", "staff:<id>"; anything else is the system, e.g. the CLI). */
export async function createApiKey(db: Db, input: { name: string; role: 'admin' | 'integration'; storeId: string | null }, createdBy = 'admin-cli') {
  const { key, hash, prefix } = generateApiKey();
  return db.$transaction(async (tx) => {
    const row = await tx.apiKey.create({ data: { name: input.name, role: input.role, storeId: input.storeId, keyHash: hash, keyPrefix: prefix } });
    await recordAudit(tx, {
      ...auditActorOfLabel(createdBy), action: 'api-key.create', entity: 'api-key', entityId: row.id, storeId: row.storeId,
      after: { name: row.name, role: row.role, storeId: row.storeId, keyPrefix: row.keyPrefix },
    });
    return { id: row.id, key };
  });
}

/** The store's newest plan version (stores get version 1, the default plan, when they are created). */
export async function currentPlan(tx: Tx, storeId: string) {
  const plan = await tx.contactPlan.findFirst({ where: { storeId }, orderBy: { version: 'desc' } });
  if (!plan) throw notFound(`contact plan of store ${storeId}`);
  return plan;
}

export async function createDefaultPlan(tx: Tx, storeId: string, createdBy: string) {
  return tx.contactPlan.create({ data: { storeId, version: 1, steps: DEFAULT_PLAN.steps, createdBy } });
}

