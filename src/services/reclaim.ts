/**
 * Reclaim (seed 001): a customer whose consultant made no contact for the store's
 * `reclaimAfterDays` (30 by default) while a contact was due returns to the store's pool and goes
 * to another consultant by the one fair rule (src/services/assignment.ts). The customer's open
 * calls go with them; the seller keeps the sale (Delivery.consultantId), the new consultant becomes
 * the owner (Delivery.ownerId), and the audit log records each reclaim and why.
 *
 * "A contact was due": a call task the owner holds, due (dueStart) since before the cut-off, open or
 * missed, and no call on that customer's vehicle completed by the owner since it fell due. A new
 * owner's clock starts at the reclaim.
 */
import type { Db } from '../db/client';
import { COMPLETED_STATUSES } from '../domain/kpi';
import { Prisma } from '../generated/prisma/client';
import { fairAssignee, withAssignment } from './assignment';
import { recordAudit } from './audit';

const DAY_MS = 86_400_000;

export interface Reclaimed {
  deliveryId: string;
  customerId: string;
  from: string;
  to: string;
  reason: string;
  /** open calls handed over with the customer */
  tasks: number;
}

interface Candidate {
  deliveryId: string;
  customerId: string;
  owner: string;
  taskId: string;
  stepKey: string;
  dueSince: Date;
}

/** The store's customers due for a reclaim as of `asOf`, each with the oldest unanswered call that makes it so. */
async function candidates(db: Db, storeId: string, cutoff: Date): Promise<Candidate[]> {
  return db.$queryRaw<Candidate[]>`
    SELECT d.id::text AS "deliveryId", d."customerId"::text AS "customerId", o.owner::text AS owner, due.id::text AS "taskId", due."stepKey", due.since AS "dueSince"
    FROM "Delivery" d
    CROSS JOIN LATERAL (SELECT coalesce(d."ownerId", d."consultantId") AS owner) o
    JOIN LATERAL (
      SELECT f.id, f."stepKey", greatest(f."dueStart", coalesce(d."reclaimedAt", f."dueStart")) AS since
      FROM "FollowUp" f
      WHERE f."deliveryId" = d.id AND f.kind = 'call' AND f."assigneeId" = o.owner AND f.status IN ('open', 'missed')
        AND greatest(f."dueStart", coalesce(d."reclaimedAt", f."dueStart")) <= ${cutoff}::timestamptz
        AND NOT EXISTS (
          SELECT 1 FROM "FollowUp" c
          WHERE c."deliveryId" = d.id AND c.status IN (${Prisma.join(COMPLETED_STATUSES)})
            AND coalesce(c."completedById", c."assigneeId") = o.owner AND c."completedAt" >= f."dueStart"
        )
      ORDER BY f."dueStart", f.id
      LIMIT 1
    ) due ON true
    WHERE d."storeId" = ${storeId} AND d.status = 'active'
    ORDER BY due.since, d.id`;
}

/** Reclaims what is due at the store; a repeat finds nothing more (the owner changed, and their clock restarted). */
export async function reclaimCustomers(db: Db, storeId: string, asOf: Date): Promise<Reclaimed[]> {
  const { reclaimAfterDays } = await db.store.findUniqueOrThrow({ where: { id: storeId }, select: { reclaimAfterDays: true } });
  const done: Reclaimed[] = [];
  for (const c of await candidates(db, storeId, new Date(asOf.getTime() - reclaimAfterDays * DAY_MS))) {
    // One customer per transaction, each pick under the consultants' lock, so the next pick counts this one's calls.
    const reclaimed = await withAssignment(db, async (tx) => {
      const [delivery] = await tx.$queryRaw<{ owner: string }[]>`
        SELECT coalesce("ownerId", "consultantId")::text AS owner FROM "Delivery" WHERE id = ${c.deliveryId}::uuid FOR UPDATE`;
      if (delivery?.owner !== c.owner) return null;
      const next = await fairAssignee(tx, storeId, 'consultant', [c.owner]);
      if (!next) return null;
      const reason = `no contact for ${reclaimAfterDays} days while a call was due: task ${c.taskId} (${c.stepKey}) due since ${c.dueSince.toISOString()}`;
      await tx.delivery.update({ where: { id: c.deliveryId }, data: { ownerId: next, reclaimedAt: asOf } });
      const open = await tx.followUp.findMany({ where: { deliveryId: c.deliveryId, assigneeId: c.owner, status: 'open' }, select: { id: true } });
      await tx.followUp.updateMany({ where: { id: { in: open.map((t) => t.id) } }, data: { assigneeId: next, claimedAt: null } });
      for (const t of open) {
        await recordAudit(tx, { actor: 'system', action: 'task.reassign', entity: 'task', entityId: t.id, storeId, before: { assigneeId: c.owner }, after: { assigneeId: next }, reason: 'the customer was reclaimed' });
      }
      await recordAudit(tx, {
        actor: 'system', action: 'customer.reclaim', entity: 'customer', entityId: c.customerId, storeId,
        before: { deliveryId: c.deliveryId, consultantId: c.owner }, after: { deliveryId: c.deliveryId, consultantId: next }, reason,
      });
      return { deliveryId: c.deliveryId, customerId: c.customerId, from: c.owner, to: next, reason, tasks: open.length };
    });
    if (reclaimed) done.push(reclaimed);
  }
  return done;
}
