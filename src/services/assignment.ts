/**
 * Who gets a task: one rule for call tasks and for escalation and data-fix cases (and for any
 * automatic reassignment to come).
 *
 * The fair rule picks, among the store's active holders of a role, the one with the fewest open
 * tasks (follow-ups and cases alike), ties to the longest-serving. Counting and writing must not
 * interleave, or simultaneous tasks all see the same least-loaded person: every pick takes a
 * transaction-scoped advisory lock on (store, role), and the caller writes the task in that same
 * transaction, so the next pick waits for the commit and counts this task.
 */
import type { Db } from '../db/client';
import { Prisma } from '../generated/prisma/client';

/** Call inside a transaction (`withAssignment`): the lock lasts until that transaction ends. */
type Tx = Prisma.TransactionClient;

/**
 * A transaction to pick an assignee and write the task in. Simultaneous tasks queue on the lock
 * (a few milliseconds each) while holding pool connections, so the others wait longer than
 * Prisma's default 2 s for one: 200 simultaneous tasks on a pool of 5 took 5 s here, all
 * assigned (67/67/66 over three supervisors), where the default failed half of them.
 */
export function withAssignment<T>(db: Db, write: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(write, { maxWait: 15_000, timeout: 15_000 });
}

/** service_advisor (服务顾问) and renewal_specialist (续保专员) take the call tasks of the years after delivery. */
export type CallRole = 'consultant' | 'supervisor' | 'cr_specialist' | 'manager' | 'service_advisor' | 'renewal_specialist';

/** The (store, role) lock every pick takes, until the transaction ends (re-entrant within it). */
export async function lockAssignment(tx: Tx, storeId: string, role: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`assignment:${storeId}:${role}`}, 0))`;
}

/**
 * The active holder of `role` at the store with the fewest open tasks, other than `exclude` (whom
 * the work is taken from); null when nobody holds it.
 */
export async function fairAssignee(tx: Tx, storeId: string, role: string, exclude: readonly string[] = []): Promise<string | null> {
  await lockAssignment(tx, storeId, role);
  const [pick] = await tx.$queryRaw<{ id: string }[]>`
    SELECT s.id::text AS id
    FROM "Staff" s
    WHERE s."storeId" = ${storeId} AND s.role = ${role} AND s.active
      ${exclude.length ? Prisma.sql`AND s.id NOT IN (${Prisma.join(exclude.map((id) => Prisma.sql`${id}::uuid`))})` : Prisma.empty}
    ORDER BY (SELECT count(*) FROM "FollowUp" f WHERE f."assigneeId" = s.id AND f.status = 'open')
           + (SELECT count(*) FROM "EscalationCase" c WHERE c."assigneeId" = s.id AND c.status = 'open'),
             s."createdAt", s.id
    LIMIT 1`;
  return pick?.id ?? null;
}

/**
 * A call task's assignee: the customer's consultant (who made the deal, or took the customer over
 * in a reclaim) while they are still active; for the supervisor's call, that consultant's team
 * supervisor while they are an active supervisor of the store; else the fair rule (a replacement
 * outreach call years after the sale often finds the seller gone).
 */
export async function callAssignee(tx: Tx, delivery: { storeId: string; consultantId: string; ownerId?: string | null }, role: CallRole): Promise<string | null> {
  const consultantId = delivery.ownerId ?? delivery.consultantId;
  if (role === 'consultant') {
    const consultant = await tx.staff.findUnique({ where: { id: consultantId }, select: { active: true } });
    if (consultant?.active) return consultantId;
  }
  if (role === 'supervisor') {
    const { supervisor } = await tx.staff.findUniqueOrThrow({
      where: { id: consultantId },
      select: { supervisor: { select: { id: true, storeId: true, role: true, active: true } } },
    });
    if (supervisor?.active && supervisor.role === 'supervisor' && supervisor.storeId === delivery.storeId) return supervisor.id;
  }
  return fairAssignee(tx, delivery.storeId, role);
}

/** The CR specialist for a new case at the store. */
export function crSpecialistFor(tx: Tx, storeId: string): Promise<string | null> {
  return fairAssignee(tx, storeId, 'cr_specialist');
}
