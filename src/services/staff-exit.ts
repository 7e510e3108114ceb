/**
 * A staff member who leaves: their Staff rows stop being active, their open call tasks and cases go
 * to colleagues by the one fair rule (src/services/assignment.ts), and their sessions end.
 *
 * Who holds a task is the API's to write (as claim and reassign do), so tasks move in the same
 * transaction that deactivates, each pick under the (store, role) lock. A case's holder is its
 * workflow's to write: each case's new holder is picked under the lock for the case's rung of the
 * ladder, then handed to the workflow as a reassignment, one case at a time so that the next pick
 * counts the previous one.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Db } from '../db/client';
import { LADDER_ROLE, type CaseLevel } from '../domain/cases';
import { caseWorkflowId, reassignCaseUpdate } from '../workflows/contract';
import { fairAssignee, lockAssignment, withAssignment } from './assignment';
import { type AuditActor, recordAudit } from './audit';
import { revokeSessionsOf } from './sessions';

export interface StaffExit {
  /** open call tasks handed to colleagues */
  tasks: number;
  /** open cases handed to colleagues */
  cases: number;
  /** open work nobody else at the store could take (nobody holds the role): left with its holder, for a manager */
  unassigned: number;
  /** sessions ended */
  sessions: number;
}

export async function deactivateStaff(
  deps: { db: Db; temporal: Pick<Client, 'workflow'> },
  staffIds: string[],
  actor: AuditActor,
  now = new Date(),
): Promise<StaffExit> {
  const { db, temporal } = deps;
  const exit = await withAssignment(db, async (tx) => {
    const staff = await tx.staff.findMany({ where: { id: { in: staffIds } }, orderBy: [{ storeId: 'asc' }, { role: 'asc' }] });
    // The leaver's own (store, role) locks first: no pick elsewhere (a new task, a case climbing,
    // another leaver's work) can choose them between this read and the commit.
    for (const s of staff) await lockAssignment(tx, s.storeId, s.role);
    // deactivatedAt marks the exit done (the DMS may have set active to false already).
    await tx.staff.updateMany({ where: { id: { in: staffIds }, deactivatedAt: null }, data: { active: false, deactivatedAt: now } });
    for (const s of staff.filter((row) => row.deactivatedAt === null)) {
      await recordAudit(tx, {
        actor, action: 'staff.deactivate', entity: 'staff', entityId: s.id, storeId: s.storeId,
        before: { active: s.active, deactivatedAt: null }, after: { active: false, deactivatedAt: now },
      });
    }
    let tasks = 0;
    let unassigned = 0;
    const open = await tx.followUp.findMany({ where: { assigneeId: { in: staffIds }, status: 'open', kind: 'call' }, orderBy: { dueEnd: 'asc' } });
    for (const task of open) {
      const next = await fairAssignee(tx, task.storeId, task.role);
      if (!next) {
        unassigned++;
        continue;
      }
      await tx.followUp.update({ where: { id: task.id }, data: { assigneeId: next, claimedAt: null } });
      await recordAudit(tx, {
        actor, action: 'task.reassign', entity: 'task', entityId: task.id, storeId: task.storeId,
        before: { assigneeId: task.assigneeId }, after: { assigneeId: next }, reason: 'the holder left',
      });
      tasks++;
    }
    // Their logins: sessions end now (roles changed); a login with no active row left is disabled.
    const loginIds = [...new Set(staff.map((s) => s.loginId).filter((id): id is string => id !== null))];
    let sessions = 0;
    for (const loginId of loginIds) {
      sessions += await revokeSessionsOf(tx, loginId, now);
      if ((await tx.staff.count({ where: { loginId, active: true } })) === 0) {
        await tx.staffLogin.updateMany({ where: { id: loginId, disabledAt: null }, data: { disabledAt: now } });
      }
    }
    return { tasks, unassigned, sessions };
  });

  let cases = 0;
  let unassigned = exit.unassigned;
  const openCases = await db.escalationCase.findMany({ where: { assigneeId: { in: staffIds }, status: 'open' }, orderBy: { createdAt: 'asc' } });
  for (const c of openCases) {
    const next = await withAssignment(db, (tx) => fairAssignee(tx, c.storeId, LADDER_ROLE[c.level as CaseLevel] ?? 'cr_specialist'));
    if (!next) {
      unassigned++;
      continue;
    }
    try {
      await temporal.workflow.getHandle(caseWorkflowId(c.id)).executeUpdate(reassignCaseUpdate, {
        args: [{ actor, assigneeId: next, note: 'the holder left' }],
        // A repeated deactivation is the same reassignment.
        updateId: `staff-exit:${c.id}:${c.assigneeId}`,
      });
      cases++;
    } catch (err) {
      // A case whose workflow has ended is closed: nothing to hand over.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return { tasks: exit.tasks, cases, unassigned, sessions: exit.sessions };
}
