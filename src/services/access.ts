/**
 * Who may see and do what: the one place for role scoping (DOMAIN.md section 1). Every route reads
 * records through these where-builders, so a record out of the caller's reach is simply not found
 * (a 404, never its data), and checks actions with `can`.
 *
 * A person signs in once (a StaffLogin) and holds one Staff row per store and role; a group role
 * (a general manager of several stores) is a row at each of its stores. Per row:
 * - consultant: their own tasks, deliveries, customers, messages and cases;
 * - supervisor: their own and their team's (Staff.supervisorId);
 * - CR specialist: the store's survey calls (role cr_specialist) and any call they hold, and the
 *   store's deliveries, customers, messages and cases (they handle escalations and data fixes);
 * - sales manager, general manager: the whole store.
 * API keys keep their store scope (null: every store); integration and admin keys act for the DMS.
 */
import { Prisma } from '../generated/prisma/client';

/** service_advisor (服务顾问) and renewal_specialist (续保专员) hold the call tasks of the years after delivery: their own, and their role's unassigned ones. */
export const STAFF_ROLES = ['consultant', 'supervisor', 'cr_specialist', 'manager', 'general_manager', 'service_advisor', 'renewal_specialist'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** One of a signed-in person's Staff rows: a role at a store, with a supervisor's team. */
export interface Membership {
  staffId: string;
  storeId: string;
  role: StaffRole;
  /** a supervisor's consultants (Staff.supervisorId = staffId); empty for other roles */
  team: string[];
}

export interface ApiKeyActor {
  kind: 'api-key';
  id: string;
  role: 'admin' | 'integration';
  /** null: the actor spans every store of the group */
  storeId: string | null;
}

export interface StaffActor {
  kind: 'staff';
  /** the StaffLogin ID: the person */
  id: string;
  sessionId: string;
  /** an admin reset the password: nothing but changing it is allowed */
  mustChangePassword: boolean;
  /** active Staff rows only */
  memberships: Membership[];
}

export type Actor = ApiKeyActor | StaffActor;

const STORE_WIDE: readonly StaffRole[] = ['manager', 'general_manager'];
const isStoreWide = (m: Membership) => STORE_WIDE.includes(m.role);

/** The stores the actor reaches; null: every store. */
export function storeIdsOf(actor: Actor): string[] | null {
  if (actor.kind === 'api-key') return actor.storeId === null ? null : [actor.storeId];
  return [...new Set(actor.memberships.map((m) => m.storeId))];
}

export function reachesStore(actor: Actor, storeId: string): boolean {
  const stores = storeIdsOf(actor);
  return stores === null || stores.includes(storeId);
}

/** The staff members whose records a membership reaches; null: the whole store. */
function peopleOf(m: Membership, family: 'task' | 'record'): string[] | null {
  if (isStoreWide(m) || (m.role === 'cr_specialist' && family === 'record')) return null;
  return m.role === 'supervisor' ? [m.staffId, ...m.team] : [m.staffId];
}

const NOTHING = { id: { in: [] as string[] } };

/** A where-fragment for "everything at the actor's stores". */
function storeOnly(actor: Actor): { storeId?: string | { in: string[] } } {
  const stores = storeIdsOf(actor);
  return stores === null ? {} : { storeId: { in: stores } };
}

/**
 * Call tasks: a person-scoped role sees the tasks its people hold and the unassigned tasks of its
 * own role (to claim them); a CR specialist the store's survey calls and whatever they hold.
 */
export interface TaskGrant {
  storeId: string;
  /** null: every task of the store */
  assignees: string[] | null;
  /** unassigned tasks of this role are visible too (to claim) */
  unassignedRole?: StaffRole;
  /** every task of this role at the store is visible (the CR specialist's survey calls) */
  anyRole?: StaffRole;
}

export function taskGrants(actor: StaffActor): TaskGrant[] {
  return actor.memberships.map((m) => {
    if (m.role === 'cr_specialist') return { storeId: m.storeId, assignees: [m.staffId], anyRole: m.role };
    const people = peopleOf(m, 'task');
    return people === null ? { storeId: m.storeId, assignees: null } : { storeId: m.storeId, assignees: people, unassignedRole: m.role };
  });
}

export function taskWhere(actor: Actor): Prisma.FollowUpWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  const grants = taskGrants(actor);
  if (grants.length === 0) return NOTHING;
  return {
    OR: grants.map((g): Prisma.FollowUpWhereInput => g.assignees === null ? { storeId: g.storeId } : {
      storeId: g.storeId,
      OR: [
        { assigneeId: { in: g.assignees } },
        ...(g.unassignedRole ? [{ assigneeId: null, role: g.unassignedRole }] : []),
        ...(g.anyRole ? [{ role: g.anyRole }] : []),
      ],
    }),
  };
}

/** The same rule as `taskWhere`, as SQL on the follow-up alias `f` (the inbox is one raw statement). */
export function taskSql(actor: Actor): Prisma.Sql {
  if (actor.kind === 'api-key') return actor.storeId === null ? Prisma.sql`TRUE` : Prisma.sql`f."storeId" = ${actor.storeId}`;
  const grants = taskGrants(actor);
  if (grants.length === 0) return Prisma.sql`FALSE`;
  return Prisma.sql`(${Prisma.join(grants.map((g) => {
    if (g.assignees === null) return Prisma.sql`f."storeId" = ${g.storeId}`;
    const holders = [
      Prisma.sql`f."assigneeId" IN (${Prisma.join(g.assignees.map((id) => Prisma.sql`${id}::uuid`))})`,
      ...(g.unassignedRole ? [Prisma.sql`(f."assigneeId" IS NULL AND f.role = ${g.unassignedRole})`] : []),
      ...(g.anyRole ? [Prisma.sql`f.role = ${g.anyRole}`] : []),
    ];
    return Prisma.sql`(f."storeId" = ${g.storeId} AND (${Prisma.join(holders, ' OR ')}))`;
  }), ' OR ')})`;
}

/** Deliveries (and through them customers, messages, cases): by the consultant who made the deal. */
export function deliveryWhere(actor: Actor): Prisma.DeliveryWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  if (actor.memberships.length === 0) return NOTHING;
  return {
    OR: actor.memberships.map((m) => {
      const people = peopleOf(m, 'record');
      return people === null ? { storeId: m.storeId } : { storeId: m.storeId, consultantId: { in: people } };
    }),
  };
}

export function customerWhere(actor: Actor): Prisma.CustomerWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  return { deliveries: { some: deliveryWhere(actor) } };
}

export function messageWhere(actor: Actor): Prisma.MessageWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  return { delivery: deliveryWhere(actor) };
}

/**
 * Cases, per Staff row: a store-wide row (and a CR specialist's) reaches every case of its store; a
 * person-scoped row the cases on its people's deliveries and the cases it holds. A case lies at its
 * delivery's store, and is only ever held by staff of that store (the fair rule and reassignment
 * pick there), so a store-wide row reads the case's own storeId alone (an index the desk's list
 * pages through in order) rather than a join to the delivery.
 */
interface CaseGrant {
  storeId: string;
  /** null: every case of the store */
  people: string[] | null;
  holder: string;
}

const caseGrants = (actor: StaffActor): CaseGrant[] =>
  actor.memberships.map((m) => ({ storeId: m.storeId, people: peopleOf(m, 'record'), holder: m.staffId }));

export function caseWhere(actor: Actor): Prisma.EscalationCaseWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  const grants = caseGrants(actor);
  if (grants.length === 0) return NOTHING;
  return {
    OR: grants.map((g): Prisma.EscalationCaseWhereInput => g.people === null ? { storeId: g.storeId } : {
      storeId: g.storeId, OR: [{ assigneeId: g.holder }, { delivery: { consultantId: { in: g.people } } }],
    }),
  };
}

/** The same rule as `caseWhere`, as SQL on the case alias `c` (the desk's list is one raw statement). */
export function caseSql(actor: Actor): Prisma.Sql {
  if (actor.kind === 'api-key') return actor.storeId === null ? Prisma.sql`TRUE` : Prisma.sql`c."storeId" = ${actor.storeId}`;
  const grants = caseGrants(actor);
  if (grants.length === 0) return Prisma.sql`FALSE`;
  return Prisma.sql`(${Prisma.join(grants.map((g) => g.people === null ? Prisma.sql`c."storeId" = ${g.storeId}` : Prisma.sql`(c."storeId" = ${g.storeId} AND (
    c."assigneeId" = ${g.holder}::uuid
    OR EXISTS (SELECT 1 FROM "Delivery" d WHERE d.id = c."deliveryId" AND d."consultantId" IN (${Prisma.join(g.people.map((id) => Prisma.sql`${id}::uuid`))}))))`), ' OR ')})`;
}

/** Staff rows: a consultant sees themself, a supervisor their team, the other roles the store. */
export function staffWhere(actor: Actor): Prisma.StaffWhereInput {
  if (actor.kind === 'api-key') return storeOnly(actor);
  if (actor.memberships.length === 0) return NOTHING;
  return {
    OR: actor.memberships.map((m) => {
      const people = peopleOf(m, 'record');
      return people === null ? { storeId: m.storeId } : { storeId: m.storeId, id: { in: people } };
    }),
  };
}

/** What needs more than seeing a record, by role at the record's store. */
export const ACTIONS = {
  /** record a delivery: the DMS posts them */
  'delivery.create': [],
  /** end an ownership (sold, scrapped, the customer's request) */
  'delivery.end': ['cr_specialist', 'manager', 'general_manager'],
  /** hand a task to someone else (a supervisor within their team) */
  'task.reassign': ['supervisor', 'manager', 'general_manager'],
  /** store-level KPIs, rows and the ranking of staff */
  'kpi.store': ['cr_specialist', 'manager', 'general_manager'],
  'plan.edit': ['manager', 'general_manager'],
  'template.edit': ['manager', 'general_manager'],
  /** add, change and deactivate staff rows */
  'staff.edit': ['manager', 'general_manager'],
  /** create logins, reset passwords, deactivate people */
  'login.admin': ['general_manager'],
  /** act on a case: acknowledge, note, reassign, resolve, reopen */
  'case.act': ['cr_specialist', 'manager', 'general_manager'],
  /** read the audit log */
  'audit.read': ['manager', 'general_manager'],
  /** pre-screen the replacement candidates (I-1): CR and the store's managers */
  'replacement.screen': ['cr_specialist', 'manager', 'general_manager'],
  /** the store's digest hour, pause, reclaim period, KPI thresholds and replacement criteria */
  'store.settings': ['manager', 'general_manager'],
  /** an import's status and rows (the DMS's keys upload them; the rows name the store's customers) */
  'import.read': ['manager', 'general_manager'],
} as const satisfies Record<string, readonly StaffRole[]>;
export type Action = keyof typeof ACTIONS;

/** Admin keys may do everything at their stores; integration keys what the DMS does. */
const INTEGRATION_ACTIONS: readonly Action[] = ['delivery.create', 'delivery.end', 'task.reassign', 'kpi.store', 'staff.edit', 'case.act', 'import.read'];

export function can(actor: Actor, action: Action, storeId: string): boolean {
  if (!reachesStore(actor, storeId)) return false;
  if (actor.kind === 'api-key') return actor.role === 'admin' || INTEGRATION_ACTIONS.includes(action);
  const roles: readonly StaffRole[] = ACTIONS[action];
  return actor.memberships.some((m) => m.storeId === storeId && roles.includes(m.role));
}

/** The stores where the actor may do `action`; null: every store. */
export function storesFor(actor: Actor, action: Action): string[] | null {
  const stores = storeIdsOf(actor);
  // A group key reaches every store, so any store ID answers for all of them.
  if (stores === null) return can(actor, action, '*') ? null : [];
  return stores.filter((s) => can(actor, action, s));
}

/** The actor's Staff row at a store, preferring one of the given role (the one acting on a task there). */
export function membershipAt(actor: StaffActor, storeId: string, role?: string): Membership | undefined {
  const here = actor.memberships.filter((m) => m.storeId === storeId);
  return here.find((m) => m.role === role) ?? here[0];
}

/**
 * The staff members whose KPIs the actor may read at a store: null for the whole store (and every
 * person in it), else the people a consultant or supervisor reaches.
 */
export function kpiPeople(actor: Actor, storeId: string): string[] | null {
  if (actor.kind === 'api-key' || can(actor, 'kpi.store', storeId)) return null;
  return actor.memberships.filter((m) => m.storeId === storeId).flatMap((m) => peopleOf(m, 'record') ?? []);
}

/** A supervisor reassigns within their team; managers anyone at the store. */
export function mayReassignTo(actor: Actor, storeId: string, assigneeId: string): boolean {
  if (!can(actor, 'task.reassign', storeId)) return false;
  if (actor.kind === 'api-key') return true;
  return actor.memberships.some((m) => m.storeId === storeId && (isStoreWide(m) || (m.role === 'supervisor' && [m.staffId, ...m.team].includes(assigneeId))));
}
