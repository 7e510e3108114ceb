import { type Actor, can, kpiPeople, mayReassignTo, type StaffActor, storesFor, taskGrants } from '../../src/services/access';

const staff = (...memberships: StaffActor['memberships']): StaffActor => ({ kind: 'staff', id: 'login', sessionId: 's', mustChangePassword: false, memberships });
const consultant = staff({ staffId: 'c1', storeId: 'a', role: 'consultant', team: [] });
const supervisor = staff({ staffId: 's1', storeId: 'a', role: 'supervisor', team: ['c1', 'c2'] });
const cr = staff({ staffId: 'r1', storeId: 'a', role: 'cr_specialist', team: [] });
const manager = staff({ staffId: 'm1', storeId: 'a', role: 'manager', team: [] });
const groupManager = staff({ staffId: 'g1', storeId: 'a', role: 'general_manager', team: [] }, { staffId: 'g2', storeId: 'c', role: 'general_manager', team: [] });
const integration: Actor = { kind: 'api-key', id: 'k', role: 'integration', storeId: 'a' };
const groupAdmin: Actor = { kind: 'api-key', id: 'k', role: 'admin', storeId: null };

describe('role scoping (src/services/access.ts)', () => {
  it('a consultant reaches their own tasks and the unassigned ones of their role; a supervisor their team\'s too', () => {
    expect(taskGrants(consultant)).toEqual([{ storeId: 'a', assignees: ['c1'], unassignedRole: 'consultant' }]);
    expect(taskGrants(supervisor)).toEqual([{ storeId: 'a', assignees: ['s1', 'c1', 'c2'], unassignedRole: 'supervisor' }]);
  });

  it('a CR specialist reaches the store\'s survey calls and whatever they hold; managers the store; a group role each of its stores', () => {
    expect(taskGrants(cr)).toEqual([{ storeId: 'a', assignees: ['r1'], anyRole: 'cr_specialist' }]);
    expect(taskGrants(manager)).toEqual([{ storeId: 'a', assignees: null }]);
    expect(taskGrants(groupManager)).toEqual([{ storeId: 'a', assignees: null }, { storeId: 'c', assignees: null }]);
  });

  it('actions follow the role at the record\'s store, and nothing reaches another store', () => {
    expect(can(consultant, 'task.reassign', 'a')).toBe(false);
    expect(can(supervisor, 'task.reassign', 'a')).toBe(true);
    expect(can(manager, 'plan.edit', 'a')).toBe(true);
    expect(can(manager, 'plan.edit', 'b')).toBe(false);
    expect(can(manager, 'login.admin', 'a')).toBe(false);
    expect(can(groupManager, 'login.admin', 'c')).toBe(true);
    expect(can(integration, 'delivery.create', 'a')).toBe(true);
    expect(can(integration, 'plan.edit', 'a')).toBe(false);
    expect(can(integration, 'delivery.create', 'b')).toBe(false);
    expect(can(consultant, 'delivery.create', 'a')).toBe(false);
  });

  it('a supervisor hands tasks on within their team only; a manager to anyone at the store', () => {
    expect(mayReassignTo(supervisor, 'a', 'c2')).toBe(true);
    expect(mayReassignTo(supervisor, 'a', 'c3')).toBe(false);
    expect(mayReassignTo(manager, 'a', 'c3')).toBe(true);
    expect(mayReassignTo(consultant, 'a', 'c1')).toBe(false);
  });

  it('KPIs: a consultant reads their own, a supervisor their team\'s people, store roles the store', () => {
    expect(kpiPeople(consultant, 'a')).toEqual(['c1']);
    expect(kpiPeople(supervisor, 'a')).toEqual(['s1', 'c1', 'c2']);
    expect(kpiPeople(cr, 'a')).toBeNull();
    expect(kpiPeople(integration, 'a')).toBeNull();
  });

  it('the stores where an action is allowed: a group key every store, staff where their role allows it', () => {
    expect(storesFor(groupAdmin, 'audit.read')).toBeNull();
    expect(storesFor(groupManager, 'audit.read')).toEqual(['a', 'c']);
    expect(storesFor(consultant, 'audit.read')).toEqual([]);
    expect(storesFor({ kind: 'api-key', id: 'k', role: 'integration', storeId: null }, 'audit.read')).toEqual([]);
  });
});
