import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/client';
import { MAX_FAILURES, staffActorFor, UNKNOWN_LOGIN } from '../../src/services/sessions';
import { createTestDatabase } from '../helpers/db';
import { createLogin } from '../helpers/staff-logins';
import { adminKey, type Api, buildApi, recordingTemporal, seedCustomer, seedStore } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));
jest.setTimeout(60_000);
// The API's log, kept to check what it says about sign-ins.
const mockLogLines: string[] = [];
jest.mock('../../src/logger', () => {
  const real = jest.requireActual('../../src/logger');
  return { ...real, httpLoggerOptions: () => ({ ...real.httpLoggerOptions('info'), stream: { write: (line: string) => mockLogLines.push(line) } }) };
});

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let admin: string;
let temporal: ReturnType<typeof recordingTemporal>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  temporal = recordingTemporal();
  api = await buildApi(db, temporal.client);
  admin = await adminKey(db);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const PASSWORD = 'correct horse battery';

async function signIn(login: string, password: string, session: 'cookie' | 'bearer' = 'bearer') {
  return api.request('POST', '/v1/auth/sign-in', { body: { login, password, session } });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function person(storeId: string, role: string, extra: { supervisorId?: string } = {}) {
  const staff = await db.staff.create({ data: { storeId, externalId: `x-${randomUUID().slice(0, 8)}`, name: '测试', role, ...extra } });
  const login = `u${randomUUID().slice(0, 8)}`;
  const loginId = await createLogin(db, login, PASSWORD, [staff.id]);
  return { staff, login, loginId };
}

describe('staff sign-in', () => {
  it('a bearer token and a session cookie both sign in; the cookie is HTTP-only, SameSite=Lax and Secure behind https; sign-out ends the session', async () => {
    const { store } = await seedStore(db);
    const { login, loginId } = await person(store.id, 'manager');
    const bearerRes = await signIn(login.toUpperCase(), PASSWORD);
    expect(bearerRes.statusCode).toBe(200);
    const { token } = bearerRes.json();
    expect(token).toMatch(/^hfs_/);
    // Only a hash is stored.
    expect(await db.staffSession.count({ where: { tokenHash: token } })).toBe(0);
    const me = await api.request('GET', '/v1/auth/me', { headers: bearer(token) });
    expect(me.json()).toMatchObject({ loginId, memberships: [{ storeId: store.id, role: 'manager' }] });

    const res = await fetch(`${api.baseUrl}/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login, password: PASSWORD }) });
    const cookie = res.headers.get('set-cookie')!;
    // The test API's PUBLIC_BASE_URL is https.
    expect(cookie).toMatch(/^hf_session=hfs_[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure$/);
    const session = { cookie: cookie.split(';')[0] };
    expect((await api.request('GET', `/v1/stores/${store.id}/staff`, { headers: session })).statusCode).toBe(200);
    expect((await api.request('POST', '/v1/auth/sign-out', { headers: session })).statusCode).toBe(204);
    expect((await api.request('GET', `/v1/stores/${store.id}/staff`, { headers: session })).statusCode).toBe(401);
    // The bearer session is another session: still open.
    expect((await api.request('GET', '/v1/auth/me', { headers: bearer(token) })).statusCode).toBe(200);
  });

  it('a login with a control character is a 400 naming login, not a 500 (the fuzz run found a NUL)', async () => {
    const res = await signIn('a\u0000b', 'not the password');
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field: 'login', message: 'no control characters' }]);
  });

  it('a wrong password and an unknown login get the same 401; five failures lock the login (429), known or not, and the right password waits too', async () => {
    const { store } = await seedStore(db);
    const { login } = await person(store.id, 'consultant');
    const unknown = `nobody-${randomUUID().slice(0, 6)}`;
    for (const who of [login, unknown]) {
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push((await signIn(who, 'wrong password!')).json());
      expect(answers.every((a) => a.message === 'wrong login or password')).toBe(true);
      const locked = await signIn(who, who === login ? PASSWORD : 'anything at all');
      expect(locked.statusCode).toBe(429);
      expect(locked.json()).toEqual({ error: 'TooManyAttempts', message: 'too many failed sign-ins for this login: try again in 15 minutes' });
    }
  });

  it('failed sign-ins and the lock-out are in the audit log under the login\'s ID (an unknown login as "unknown"), never a password or the typed login; the API log names neither', async () => {
    const { store } = await seedStore(db);
    const staff = await db.staff.create({ data: { storeId: store.id, externalId: `x-${randomUUID().slice(0, 8)}`, name: '王芳', role: 'consultant' } });
    const email = `wang.fang.${randomUUID().slice(0, 6)}@example.com`;
    const loginId = await createLogin(db, email, PASSWORD, [staff.id]);
    // People type their password into the login field.
    const typedPassword = `Pw-${randomUUID().slice(0, 8)}`;
    const since = (await db.auditLog.aggregate({ _max: { id: true } }))._max.id ?? 0n;
    for (let i = 0; i < MAX_FAILURES + 1; i++) await signIn(email, `wrong ${typedPassword}`);
    await signIn(typedPassword, PASSWORD);
    expect((await signIn(email, PASSWORD)).statusCode).toBe(429);

    const rows = await db.auditLog.findMany({ where: { id: { gt: since }, entity: 'staff-login' }, orderBy: { id: 'asc' } });
    const mine = rows.filter((r) => r.entityId === loginId);
    // The sixth attempt met the lock: the throttle answers it, unrecorded.
    expect(mine.map((r) => [r.action, r.storeId, r.actorKind, r.reason])).toEqual([
      ...Array.from({ length: MAX_FAILURES }, () => ['staff-login.sign-in-failed', store.id, 'system', 'wrong password']),
      ['staff-login.lock-out', store.id, 'system', `${MAX_FAILURES} failed sign-ins within 15 minutes`],
    ]);
    expect(mine.map((r) => (r.after as { failures?: number }).failures ?? 'lock')).toEqual([1, 2, 3, 4, 5, 'lock']);
    const unknown = rows.filter((r) => r.entityId === UNKNOWN_LOGIN);
    expect(unknown.map((r) => [r.action, r.storeId, r.reason])).toEqual([['staff-login.sign-in-failed', null, 'unknown login']]);

    const recorded = JSON.stringify(rows.map((r) => ({ ...r, id: String(r.id) })));
    const logged = mockLogLines.join('');
    for (const secret of [typedPassword, PASSWORD, email, email.split('@')[0]]) {
      expect(recorded).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    // The log was written: the check above read the API's log.
    expect(logged).toContain('/v1/auth/sign-in');
  });

  it('an unknown login takes about as long as a known one (the dummy hash is verified)', async () => {
    const { store } = await seedStore(db);
    const { login } = await person(store.id, 'consultant');
    const time = async (who: string) => {
      const start = performance.now();
      await signIn(who, 'a wrong password');
      return performance.now() - start;
    };
    await time('warm-up-login');
    const known = Math.min(await time(login), await time(login));
    const unknown = Math.min(await time(`ghost-${randomUUID().slice(0, 6)}`), await time(`ghost-${randomUUID().slice(0, 6)}`));
    expect(unknown).toBeGreaterThan(known * 0.5);
  });

  it('an admin reset gives a temporary password: sessions end, the lock lifts, nothing but changing it is allowed, and the policy holds', async () => {
    const { store } = await seedStore(db);
    const { login, loginId } = await person(store.id, 'consultant');
    const old = (await signIn(login, PASSWORD)).json().token;
    for (let i = 0; i < 5; i++) await signIn(login, 'wrong password!');
    const reset = await api.request('POST', `/v1/staff-logins/${loginId}/reset-password`, { headers: bearer(admin) });
    expect(reset.statusCode).toBe(200);
    const { temporaryPassword } = reset.json();
    expect((await api.request('GET', '/v1/auth/me', { headers: bearer(old) })).statusCode).toBe(401);

    const signedIn = await signIn(login, temporaryPassword);
    expect(signedIn.json()).toMatchObject({ mustChangePassword: true });
    const token = signedIn.json().token;
    const blocked = await api.request('GET', `/v1/stores/${store.id}/staff`, { headers: bearer(token) });
    expect(blocked.json()).toMatchObject({ error: 'PasswordChangeRequired' });
    const change = (currentPassword: string, newPassword: string) => api.request('POST', '/v1/auth/password', { headers: bearer(token), body: { currentPassword, newPassword } });
    expect((await change(temporaryPassword, 'short')).json().issues).toEqual([{ field: 'newPassword', message: 'at least 10 characters' }]);
    expect((await change(temporaryPassword, login.toUpperCase() + '')).json().issues?.[0].field).toBe('newPassword');
    expect((await change('not the password', 'a new long password')).json().issues).toEqual([{ field: 'currentPassword', message: 'not your current password' }]);
    expect((await change(temporaryPassword, 'a new long password')).statusCode).toBe(204);
    expect((await api.request('GET', `/v1/stores/${store.id}/staff`, { headers: bearer(token) })).statusCode).toBe(200);
    expect((await signIn(login, temporaryPassword)).statusCode).toBe(401);
    expect((await signIn(login, 'a new long password')).statusCode).toBe(200);
  });

  it('only an admin key or a general manager of every store of the login may reset it; others get a 404', async () => {
    const { store } = await seedStore(db);
    const { store: other } = await seedStore(db);
    const target = await person(store.id, 'consultant');
    const manager = await person(store.id, 'manager');
    const gmElsewhere = await person(other.id, 'general_manager');
    const gm = await person(store.id, 'general_manager');
    for (const [who, status] of [[manager, 404], [gmElsewhere, 404], [gm, 200]] as const) {
      const token = (await signIn(who.login, PASSWORD)).json().token;
      expect((await api.request('POST', `/v1/staff-logins/${target.loginId}/reset-password`, { headers: bearer(token) })).statusCode).toBe(status);
    }
  });

  it('sessions end at their expiry and after being idle, and a token never seen is refused', async () => {
    const { store } = await seedStore(db);
    const { login } = await person(store.id, 'consultant');
    const token = (await signIn(login, PASSWORD)).json().token;
    const session = await db.staffSession.findFirstOrThrow({ where: { login: { login } }, orderBy: { createdAt: 'desc' } });
    const now = session.lastSeenAt.getTime();
    expect(await staffActorFor(db, token, new Date(now + 6 * 24 * 3600_000))).not.toBeNull();
    expect(await staffActorFor(db, token, new Date(now + 6 * 24 * 3600_000 + 8 * 24 * 3600_000))).toBeNull(); // idle 8 days
    await db.staffSession.update({ where: { id: session.id }, data: { expiresAt: new Date(now + 1000) } });
    expect(await staffActorFor(db, token, new Date(now + 2000))).toBeNull();
    expect((await api.request('GET', '/v1/auth/me', { headers: bearer(`hfs_${'x'.repeat(43)}`) })).statusCode).toBe(401);
  });

  it('an admin gives staff rows at two stores one login, and the person signs in with the temporary password', async () => {
    const { store, consultant } = await seedStore(db);
    const { store: second } = await seedStore(db);
    const gmA = await db.staff.create({ data: { storeId: store.id, externalId: 'GM-1', name: '总经理', role: 'general_manager' } });
    const gmB = await db.staff.create({ data: { storeId: second.id, externalId: 'GM-1', name: '总经理', role: 'general_manager' } });
    const created = await api.request('POST', '/v1/staff-logins', {
      headers: bearer(admin), body: { login: `gm-${store.id}`, staff: [{ storeId: store.id, externalId: 'GM-1' }, { storeId: second.id, externalId: 'GM-1' }] },
    });
    expect(created.statusCode).toBe(201);
    const token = (await signIn(`gm-${store.id}`, created.json().temporaryPassword)).json().token;
    const me = await api.request('GET', '/v1/auth/me', { headers: bearer(token) });
    expect(me.json().memberships.map((m: { staffId: string }) => m.staffId).sort()).toEqual([gmA.id, gmB.id].sort());
    const taken = await api.request('POST', '/v1/staff-logins', { headers: bearer(admin), body: { login: `gm-${store.id}`, staff: [{ storeId: store.id, externalId: consultant.externalId }] } });
    expect(taken.statusCode).toBe(409);
    const twice = await api.request('POST', '/v1/staff-logins', { headers: bearer(admin), body: { login: `x-${store.id}`, staff: [{ storeId: store.id, externalId: 'GM-1' }] } });
    expect(twice.json().issues).toEqual([{ field: 'staff.0.externalId', message: 'this staff member has a login already' }]);
  });
});

describe('a signed-in person acts as themself', () => {
  it('a consultant claims an unassigned consultant call of their store as themself, whatever X-Staff-Id says; a supervisor\'s unassigned call stays out of reach', async () => {
    const { store, consultant: other } = await seedStore(db);
    const me = await person(store.id, 'consultant');
    const { deliveryId } = await seedCustomer(db, store.id);
    const open = (stepKey: string, role: string) => db.followUp.create({
      data: { storeId: store.id, deliveryId, stepKey, kind: 'call', role, channel: 'phone', dueStart: new Date(), dueEnd: new Date(Date.now() + 86400_000), checklist: [] },
    });
    const mine = await open('day-2-call', 'consultant');
    const supervisors = await open('day-5-call', 'supervisor');
    const token = (await signIn(me.login, PASSWORD)).json().token;
    const inbox = await api.request('GET', '/v1/tasks', { headers: bearer(token) });
    expect(inbox.json().tasks.map((x: { id: string }) => x.id)).toEqual([mine.id]);
    const claimed = await api.request('POST', `/v1/tasks/${mine.id}/claim`, { headers: { ...bearer(token), 'x-staff-id': other.id } });
    expect(claimed.json()).toMatchObject({ id: mine.id, assigneeId: me.staff.id });
    expect((await api.request('POST', `/v1/tasks/${supervisors.id}/claim`, { headers: bearer(token) })).statusCode).toBe(404);
  });
});

describe('a staff member who leaves', () => {
  it('is deactivated: open tasks go to the other consultants by the fair rule, cases to the other CR specialist through the case workflow, sessions end', async () => {
    const { store, consultant: leaver, cr } = await seedStore(db);
    const others = [
      await db.staff.create({ data: { storeId: store.id, externalId: 'C-2', name: '同事', role: 'consultant' } }),
      await db.staff.create({ data: { storeId: store.id, externalId: 'C-3', name: '同事', role: 'consultant' } }),
    ];
    const otherCr = await db.staff.create({ data: { storeId: store.id, externalId: 'CR-2', name: '客服', role: 'cr_specialist' } });
    const loginId = await createLogin(db, `leaver-${store.id}`, PASSWORD, [leaver.id, cr.id]);
    const token = (await signIn(`leaver-${store.id}`, PASSWORD)).json().token;
    const tasks = [];
    for (let i = 0; i < 4; i++) {
      const { deliveryId } = await seedCustomer(db, store.id);
      tasks.push(await db.followUp.create({
        data: {
          storeId: store.id, deliveryId, stepKey: 'day-2-call', kind: 'call', role: 'consultant', channel: 'phone', assigneeId: leaver.id,
          dueStart: new Date(), dueEnd: new Date(Date.now() + 86400_000), checklist: [],
        },
      }));
    }
    const done = await db.followUp.create({
      data: {
        storeId: store.id, deliveryId: tasks[0].deliveryId, stepKey: 'done', kind: 'call', role: 'consultant', channel: 'phone', assigneeId: leaver.id,
        status: 'done_on_time', dueStart: new Date(), dueEnd: new Date(), checklist: [],
      },
    });
    const kase = await db.escalationCase.create({ data: { storeId: store.id, deliveryId: tasks[0].deliveryId, reason: 'complaint', assigneeId: cr.id, openedBy: 'system' } });

    const res = await api.request('POST', `/v1/staff-logins/${loginId}/deactivate`, { headers: bearer(admin) });
    expect(res.json()).toEqual({ tasks: 4, cases: 1, unassigned: 0, sessions: 1 });
    const moved = await db.followUp.findMany({ where: { id: { in: tasks.map((x) => x.id) } } });
    const load = others.map((o) => moved.filter((m) => m.assigneeId === o.id).length);
    expect(load).toEqual([2, 2]);
    expect((await db.followUp.findUniqueOrThrow({ where: { id: done.id } })).assigneeId).toBe(leaver.id);
    expect(temporal.updates.filter((u) => u.workflowId === `case-${kase.id}`)).toEqual([
      { workflowId: `case-${kase.id}`, name: 'reassignCase', arg: { actor: { kind: 'api-key', id: expect.any(String) }, assigneeId: otherCr.id, note: 'the holder left' }, updateId: `staff-exit:${kase.id}:${cr.id}` },
    ]);
    expect((await api.request('GET', '/v1/auth/me', { headers: bearer(token) })).statusCode).toBe(401);
    expect((await signIn(`leaver-${store.id}`, PASSWORD)).statusCode).toBe(401);
    expect(await db.staff.count({ where: { id: { in: [leaver.id, cr.id] }, active: false, deactivatedAt: { not: null } } })).toBe(2);
    expect(await db.auditLog.count({ where: { action: 'staff.deactivate', entityId: { in: [leaver.id, cr.id] } } })).toBe(2);
    expect(await db.auditLog.count({ where: { action: 'task.reassign', reason: 'the holder left', entityId: { in: tasks.map((x) => x.id) } } })).toBe(4);

    // Again: nothing left to move.
    const again = await api.request('POST', `/v1/staff-logins/${loginId}/deactivate`, { headers: bearer(admin) });
    expect(again.json()).toMatchObject({ tasks: 0, sessions: 0 });
  });

  it('marked inactive by the DMS sync (PUT staff), hands their work on the same way; with no colleague in the role the task stays, counted', async () => {
    const { store, consultant: leaver } = await seedStore(db);
    const { deliveryId } = await seedCustomer(db, store.id);
    await db.followUp.create({
      data: {
        storeId: store.id, deliveryId, stepKey: 'day-2-call', kind: 'call', role: 'consultant', channel: 'phone', assigneeId: leaver.id,
        dueStart: new Date(), dueEnd: new Date(Date.now() + 86400_000), checklist: [],
      },
    });
    const put = await api.request('PUT', `/v1/stores/${store.id}/staff/${leaver.externalId}`, { headers: bearer(admin), body: { name: '李明', role: 'consultant', active: false } });
    expect(put.statusCode).toBe(200);
    expect((await db.staff.findUniqueOrThrow({ where: { id: leaver.id } })).deactivatedAt).not.toBeNull();
    expect(await db.followUp.count({ where: { assigneeId: leaver.id, status: 'open' } })).toBe(1);
  });

  it('two colleagues leaving at once: the work of the first never lands on the second (8 stores, all at once)', async () => {
    const call = (storeId: string, deliveryId: string, holder: string) => db.followUp.create({
      data: {
        storeId, deliveryId, stepKey: `call-${randomUUID()}`, kind: 'call', role: 'consultant', channel: 'phone', assigneeId: holder,
        dueStart: new Date(), dueEnd: new Date(Date.now() + 86400_000), checklist: [],
      },
    });
    const stores = [];
    for (let i = 0; i < 8; i++) {
      const { store, consultant: first } = await seedStore(db);
      // The second leaver has the fewest open tasks, so the fair rule would pick them for the first's work.
      const second = await db.staff.create({ data: { storeId: store.id, externalId: 'C-B', name: '同事', role: 'consultant' } });
      const stays = await db.staff.create({ data: { storeId: store.id, externalId: 'C-S', name: '同事', role: 'consultant' } });
      const { deliveryId } = await seedCustomer(db, store.id);
      for (const holder of [first.id, first.id, stays.id, stays.id, stays.id]) await call(store.id, deliveryId, holder);
      stores.push({ storeId: store.id, leavers: [first.externalId, second.externalId], stays: stays.id });
    }
    const answers = await Promise.all(stores.flatMap(({ storeId, leavers }) =>
      leavers.map((externalId) => api.request('POST', `/v1/stores/${storeId}/staff/${externalId}/deactivate`, { headers: bearer(admin) }))));
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
    // Each leaver's own lock makes the second wait for the first, then hand on what it was given.
    for (const { storeId, stays } of stores) {
      const open = await db.followUp.findMany({ where: { storeId, status: 'open' }, select: { assigneeId: true } });
      expect({ storeId, holders: open.map((f) => f.assigneeId) }).toEqual({ storeId, holders: [stays, stays, stays, stays, stays] });
    }
  });
});
