/**
 * The audit log: one append-only row per change to tasks, cases, customers, consents, plans,
 * templates, staff, keys and stores, saying who (a staff member, an API key or the system), when,
 * what, and the record before and after. Each row is written in the transaction of the change it
 * records, so a change and its record commit or roll back together. The database refuses to
 * update, delete or truncate the table (see the migration audit_log_thresholds_digest).
 *
 * Personal data in before/after is the record itself and stays in the database; it is never
 * logged. Secrets (key hashes, passwords, tokens) are never recorded.
 */
import { Prisma } from '../generated/prisma/client';

type Tx = Prisma.TransactionClient;

export const AUDIT_ENTITIES = ['task', 'case', 'customer', 'consent', 'plan', 'template', 'staff', 'staff-login', 'api-key', 'store', 'kpi-threshold', 'replacement-candidate'] as const;
export type AuditEntity = (typeof AUDIT_ENTITIES)[number];

/** Who made a change: a staff member, an API key, or the system on its own (a schedule, a workflow). */
export type AuditActor = { kind: 'staff' | 'api-key'; id: string } | 'system';

export interface AuditEntry {
  actor: AuditActor;
  /** "<entity>.<verb>", e.g. "task.claim" */
  action: string;
  entity: AuditEntity;
  entityId: string;
  storeId: string | null;
  before?: unknown;
  after?: unknown;
  /** why the system acted on its own */
  reason?: string;
}

/** Field names whose values are secrets, at any depth: recorded as "[secret]" (that they changed is the record). */
const SECRET_FIELD = /hash|password|secret|token|^key$|^apiKey$/i;

/** A JSON value of `value` without secrets; dates as ISO strings. */
export function auditJson(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(value, (name, v: unknown) => {
    if (name && SECRET_FIELD.test(name) && v !== null && v !== undefined) return '[secret]';
    return typeof v === 'bigint' ? v.toString() : v;
  })) as Prisma.InputJsonValue;
}

const actorColumns = (actor: AuditActor) => (actor === 'system' ? { kind: 'system', id: null } : actor);

/** Appends one row; call it with the transaction that makes the change. */
export async function recordAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  const actor = actorColumns(entry.actor);
  await tx.auditLog.create({
    data: {
      actorKind: actor.kind,
      actorId: actor.id,
      action: entry.action,
      entity: entry.entity,
      entityId: entry.entityId,
      storeId: entry.storeId,
      before: auditJson(entry.before),
      after: auditJson(entry.after),
      reason: entry.reason,
    },
  });
}

/**
 * The actor a stored label names ("api-key:<id>", "staff:<id>", as Consent.source and
 * ContactPlan.createdBy keep it); any other label ("sms-keyword", "bounced") is the system, and the label says why.
 */
export function auditActorOfLabel(label: string): { actor: AuditActor; reason?: string } {
  const [kind, id] = label.split(/:(.*)/s);
  if ((kind === 'api-key' || kind === 'staff') && id) return { actor: { kind, id } };
  return { actor: 'system', reason: label };
}

/** The actor of an API request: the staff member acting through it when named, else the key (or session) itself. */
export function auditActorOf(actor: { kind: string; id: string }, staffId?: string | null): AuditActor {
  if (staffId) return { kind: 'staff', id: staffId };
  return { kind: actor.kind === 'staff' ? 'staff' : 'api-key', id: actor.id };
}

/**
 * The same row as one INSERT statement, for a change written straight through node-postgres in
 * its transaction (`inTransaction`, src/db/raw.ts: recording a delivery).
 */
export function auditInsert(entry: AuditEntry): Prisma.Sql {
  const actor = actorColumns(entry.actor);
  const json = (value: unknown) => {
    const j = auditJson(value);
    return j === undefined ? null : JSON.stringify(j);
  };
  return Prisma.sql`INSERT INTO "AuditLog" ("actorKind", "actorId", action, entity, "entityId", "storeId", before, after, reason)
    VALUES (${actor.kind}, ${actor.id}, ${entry.action}, ${entry.entity}, ${entry.entityId}, ${entry.storeId}, ${json(entry.before)}::jsonb, ${json(entry.after)}::jsonb, ${entry.reason ?? null})`;
}
