import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { vehicleWorkflows } from '../helpers/outreach-workflows';
import { createLogin } from '../helpers/staff-logins';
import { adminKey, type Api, buildApi, seedCustomer, seedStore } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

const DAY = 86_400_000;
const PASSWORD = 'a long enough passphrase 42';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let workflows: ReturnType<typeof vehicleWorkflows>;
let storeId: string;
let seller: { id: string };
let successor: { id: string };
const staff: Record<string, { id: string; token: string }> = {};
let admin: string;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  workflows = vehicleWorkflows(db);
  api = await buildApi(db, workflows.client);
  admin = await adminKey(db);
  const seeded = await seedStore(db);
  storeId = seeded.store.id;
  seller = seeded.consultant;
  const other = (await seedStore(db)).store.id;
  successor = await db.staff.create({ data: { storeId, externalId: 'c2', name: '周杰', role: 'consultant' } });
  const rows = {
    cr1: seeded.cr,
    cr2: await db.staff.create({ data: { storeId, externalId: 'cr2', name: '钱芳', role: 'cr_specialist' } }),
    manager: await db.staff.create({ data: { storeId, externalId: 'm', name: '张经理', role: 'manager' } }),
    consultant: successor,
    othercr: await db.staff.findFirstOrThrow({ where: { storeId: other, role: 'cr_specialist' } }),
  };
  for (const [name, row] of Object.entries(rows)) {
    await createLogin(db, name, PASSWORD, [row.id]);
    const res = await api.request('POST', '/v1/auth/sign-in', { body: { login: name, password: PASSWORD, session: 'bearer' } });
    staff[name] = { id: row.id, token: res.json().token };
  }
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const as = (who: string) => {
  const token = who === 'admin' ? admin : staff[who].token;
  if (!token) throw new Error(`${who} is not signed in`);
  return { authorization: `Bearer ${token}` };
};
const fieldsOf = (res: { json(): { issues?: { field: string }[] } }) => (res.json().issues ?? []).map((i) => i.field);
const decide = (who: string, id: string, body: object) => api.request('POST', `/v1/replacement-candidates/${id}/decision`, { headers: as(who), body });

/** A vehicle delivered about four years ago, screened in its fourth year: a pending candidate. */
async function candidate() {
  const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt: new Date(Date.now() - 1_200 * DAY) });
  return db.replacementCandidate.create({ data: { storeId, deliveryId, cycle: 'year-4', facts: { ageMonths: 39, model: 'Model Y', lastServiceOn: null, forecastKm: 61_000 } } });
}

describe('replacement criteria (store data)', () => {
  const valid = { enabled: true, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: ['Model Y'], lastServiceWithinMonths: null, minMileageKm: 50_000, callWindowDays: 5 };

  it('are built in (screening off) until a manager saves them; CR reads them, only managers change them, each change audited', async () => {
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('cr1') })).json()).toMatchObject({ builtIn: true, criteria: { enabled: false } });
    expect((await api.request('PUT', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('cr1'), body: valid })).statusCode).toBe(403);
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('consultant') })).statusCode).toBe(403);
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('othercr') })).statusCode).toBe(404);
    const saved = await api.request('PUT', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('manager'), body: valid });
    expect(saved.statusCode).toBe(200);
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('cr1') })).json()).toEqual({ storeId, builtIn: false, criteria: valid });
    const audit = await db.auditLog.findMany({ where: { entity: 'store', entityId: storeId, action: 'store.replacement-criteria' } });
    expect(audit).toEqual([expect.objectContaining({ actorKind: 'staff', before: { replacementCriteria: null }, after: { replacementCriteria: valid } })]);
  });

  it('names the field of a bad criterion', async () => {
    for (const [change, field] of [
      [{ maxAgeMonths: 12 }, 'maxAgeMonths'], [{ minAgeMonths: -1 }, 'minAgeMonths'], [{ models: ['\u0000'] }, 'models.0'],
      [{ minMileageKm: 2_000_001 }, 'minMileageKm'], [{ callWindowDays: 61 }, 'callWindowDays'], [{ enabled: 'yes' }, 'enabled'], [{ screeningWeekday: 8 }, 'screeningWeekday'],
    ] as const) {
      const res = await api.request('PUT', `/v1/stores/${storeId}/replacement-criteria`, { headers: as('manager'), body: { ...valid, ...change } });
      expect({ change, status: res.statusCode, fields: fieldsOf(res) }).toEqual({ change, status: 400, fields: [field] });
    }
  });
});

describe('CR pre-screening', () => {
  it('lists the store\'s pending candidates to its CR specialists and managers only', async () => {
    const c = await candidate();
    const list = await api.request('GET', `/v1/stores/${storeId}/replacement-candidates`, { headers: as('cr2') });
    expect(list.statusCode).toBe(200);
    expect(list.json().candidates).toContainEqual(expect.objectContaining({
      id: c.id, cycle: 'year-4', status: 'pending', facts: { ageMonths: 39, model: 'Model Y', lastServiceOn: null, forecastKm: 61_000 },
      vehicle: expect.objectContaining({ model: 'Model Y' }), consultant: expect.objectContaining({ id: seller.id }),
    }));
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-candidates`, { headers: as('manager') })).statusCode).toBe(200);
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-candidates`, { headers: as('consultant') })).statusCode).toBe(403);
    expect((await api.request('GET', `/v1/stores/${storeId}/replacement-candidates`, { headers: as('othercr') })).statusCode).toBe(404);
    expect(fieldsOf(await api.request('GET', `/v1/stores/${storeId}/replacement-candidates?status=maybe`, { headers: as('cr1') }))).toEqual(['querystring.status']);
    expect(fieldsOf(await api.request('GET', `/v1/stores/${storeId}/replacement-candidates?limit=0`, { headers: as('cr1') }))).toEqual(['querystring.limit']);
  });

  it('refuses bad input naming the field, and decisions by anyone but the store\'s CR and managers', async () => {
    const c = await candidate();
    expect(fieldsOf(await decide('cr1', c.id, { decision: 'maybe' }))).toEqual(['decision']);
    expect(fieldsOf(await decide('cr1', c.id, { decision: 'no_intent', note: 'a\u0000b' }))).toEqual(['note']);
    expect(fieldsOf(await decide('cr1', c.id, { decision: 'no_intent', extra: 1 }))).toEqual(['(body)']);
    expect(fieldsOf(await decide('cr1', 'not-a-uuid', { decision: 'pass' }))).toEqual(['params.id']);
    expect((await decide('cr1', '00000000-0000-4000-8000-000000000000', { decision: 'pass' })).statusCode).toBe(404);
    expect((await decide('othercr', c.id, { decision: 'pass' })).statusCode).toBe(404);
    expect((await decide('consultant', c.id, { decision: 'pass' })).statusCode).toBe(403);
    expect((await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('pending');
  });

  it('a pass becomes the outreach call, through the vehicle\'s workflow, for a consultant still with the store when the seller has left; the same request again answers as before', async () => {
    await db.staff.update({ where: { id: seller.id }, data: { active: false } });
    try {
      const c = await candidate();
      const first = await decide('cr1', c.id, { decision: 'pass', note: '客户有换购意向' });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ status: 'passed', decidedById: staff.cr1.id, note: '客户有换购意向', followUpId: expect.any(String) });
      const task = await db.followUp.findUniqueOrThrow({ where: { id: first.json().followUpId } });
      expect(task).toMatchObject({ stepKey: 'replacement-year-4', role: 'consultant', assigneeId: successor.id, status: 'open' });
      const again = await decide('cr1', c.id, { decision: 'pass', note: '客户有换购意向' });
      expect({ status: again.statusCode, followUpId: again.json().followUpId }).toEqual({ status: 200, followUpId: task.id });
      const delivery = await db.delivery.findUniqueOrThrow({ where: { id: c.deliveryId } });
      expect(workflows.updates.filter((u) => u.workflowId === delivery.workflowId)).toEqual([{ workflowId: delivery.workflowId, updateId: `outreach-${c.id}` }]);
      expect(await db.auditLog.count({ where: { entity: 'replacement-candidate', entityId: c.id } })).toBe(1);
      // A different decision afterwards is a conflict.
      expect((await decide('cr1', c.id, { decision: 'no_intent' })).statusCode).toBe(409);
    } finally {
      await db.staff.update({ where: { id: seller.id }, data: { active: true } });
    }
  });

  it('a pass whose call could not be opened (the database down under the workflow) stands, and the same request opens it', async () => {
    const c = await candidate();
    workflows.failNextUpdate();
    const failed = await decide('manager', c.id, { decision: 'pass' });
    expect(failed.statusCode).toBe(503);
    expect(await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'passed', followUpId: null });
    const retried = await decide('manager', c.id, { decision: 'pass' });
    expect(retried.statusCode).toBe(200);
    expect(retried.json().followUpId).toEqual(expect.any(String));
  });

  it('a pass for an ownership that ended since the screening is refused, nothing recorded', async () => {
    const c = await candidate();
    await db.delivery.update({ where: { id: c.deliveryId }, data: { status: 'ended', endedReason: 'sold' } });
    const res = await decide('cr1', c.id, { decision: 'pass' });
    expect({ status: res.statusCode, error: res.json().error, message: res.json().message }).toEqual({ status: 409, error: 'NoCallPossible', message: expect.stringContaining('ownership has ended') });
    expect((await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('pending');
    expect((await decide('cr1', c.id, { decision: 'already_replaced' })).statusCode).toBe(200);
  });

  it('a pass on a vehicle whose workflow started before the years were planned, or has closed, is a 409 naming why, nothing left recorded', async () => {
    for (const refusal of [
      new WorkflowUpdateFailedError('update failed', ApplicationFailure.nonRetryable('this ownership started before the years were planned; it plans them from its next yearly run', 'YearsNotPlanned')),
      new WorkflowNotFoundError('workflow not found', 'vehicle-x', undefined),
    ]) {
      const c = await candidate();
      const { workflowId } = await db.delivery.findUniqueOrThrow({ where: { id: c.deliveryId } });
      workflows.refuse(workflowId, refusal);
      const res = await decide('cr1', c.id, { decision: 'pass', note: '有意向' });
      expect({ status: res.statusCode, error: res.json().error, message: res.json().message }).toEqual({
        status: 409, error: 'NoCallPossible', message: expect.stringMatching(refusal instanceof WorkflowNotFoundError ? /follow-up has ended.*still pending/ : /years were planned.*still pending/),
      });
      expect(await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'pending', decidedById: null, decidedAt: null, note: null, followUpId: null });
      const audit = await db.auditLog.findMany({ where: { entity: 'replacement-candidate', entityId: c.id }, orderBy: { id: 'asc' } });
      expect(audit.map((a) => [a.action, a.after])).toEqual([['replacement-candidate.decide', { status: 'passed', note: '有意向' }], ['replacement-candidate.take-back', { status: 'pending' }]]);
      // Still CR's to decide, by anyone.
      expect((await decide('cr2', c.id, { decision: 'no_intent' })).json()).toMatchObject({ status: 'no_intent', decidedById: staff.cr2.id });
    }
  });

  it('wrong data opens one data-fix case for the store\'s CR, also when the request is sent again', async () => {
    const c = await candidate();
    const first = await decide('cr1', c.id, { decision: 'wrong_data', note: '车辆已过户，客户电话空号' });
    expect(first.statusCode).toBe(200);
    const caseId = first.json().caseId;
    expect(caseId).toEqual(expect.any(String));
    const again = await decide('cr1', c.id, { decision: 'wrong_data', note: '车辆已过户，客户电话空号' });
    expect({ status: again.statusCode, caseId: again.json().caseId }).toEqual({ status: 200, caseId });
    const cases = await db.escalationCase.findMany({ where: { deliveryId: c.deliveryId } });
    expect(cases).toEqual([expect.objectContaining({
      id: caseId, storeId, reason: 'data-fix', status: 'open', messageId: null, detail: expect.stringContaining('车辆已过户'),
      assigneeId: expect.stringMatching(new RegExp(`^(${staff.cr1.id}|${staff.cr2.id})$`)),
    })]);
    // Its workflow is started (again on the retry: the first start may have met an outage; starting is idempotent).
    expect(workflows.started.filter((id) => id === `case-${caseId}`)).toHaveLength(2);
    expect(await db.auditLog.count({ where: { entity: 'case', entityId: caseId, action: 'case.open' } })).toBe(1);
  });

  it('two CR specialists marking the same candidate at once: one decision, the other a 409', async () => {
    for (const [a, b] of [['no_intent', 'no_intent'], ['already_replaced', 'pass']]) {
      const c = await candidate();
      const answers = await Promise.all([decide('cr1', c.id, { decision: a }), decide('cr2', c.id, { decision: b })]);
      expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      const winner = answers[0].statusCode === 200 ? 'cr1' : 'cr2';
      const row = await db.replacementCandidate.findUniqueOrThrow({ where: { id: c.id } });
      expect(row).toMatchObject({ decidedById: staff[winner].id, status: (winner === 'cr1' ? a : b) === 'pass' ? 'passed' : winner === 'cr1' ? a : b });
      expect(await db.auditLog.count({ where: { entity: 'replacement-candidate', entityId: c.id } })).toBe(1);
      expect(answers.find((r) => r.statusCode === 409)!.json()).toMatchObject({ error: 'AlreadyDecided', message: expect.stringContaining('already decided') });
    }
  });
});

describe('invitation-to-visit KPI', () => {
  it('counts the outreach calls completed, and of them those whose customer came to the showroom', async () => {
    const kpiStore = (await seedStore(db)).store.id;
    const outreach = async (stepKey: string) => {
      const { deliveryId } = await seedCustomer(db, kpiStore, { deliveredAt: new Date(Date.now() - 1_200 * DAY) });
      return (await workflows.activities.openFollowUp({
        deliveryId, stepKey, role: 'consultant', checklist: ['x'], survey: false, mandatory: false, maxAttempts: 1,
        dueStart: new Date().toISOString(), dueEnd: new Date(Date.now() + 7 * DAY).toISOString(),
      })).followUpId;
    };
    const answer = (followUpId: string, outcome: object) => workflows.activities.recordOutcome({ followUpId, outcome: outcome as never, completedAt: new Date().toISOString(), retryAfterMinutes: 60, attemptNumber: 1 });
    await answer(await outreach('replacement-year-4'), { reached: true, satisfied: true, showroomVisit: 'came' });
    await answer(await outreach('replacement-year-4'), { reached: true, satisfied: true, showroomVisit: 'booked' });
    await answer(await outreach('replacement-year-5'), { reached: true, satisfied: false });
    await answer(await outreach('replacement-year-4'), { reached: false }); // unreached: failed, not completed
    await outreach('replacement-year-6'); // still open
    await answer(await outreach('consultant-call-day-2'), { reached: true, satisfied: true, showroomVisit: 'came' }); // not an outreach call

    const from = new Date(Date.now() - DAY).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    const res = await api.request('GET', `/v1/kpis/years?storeId=${kpiStore}&from=${from}&to=${to}`, { headers: as('admin') });
    expect(res.statusCode).toBe(200);
    expect(res.json().kpis.find((k: { key: string }) => k.key === 'invitationToVisit')).toMatchObject({ numerator: 1, denominator: 3, rate: 33.3, label: { zh: '邀约到店率（置换邀约）' } });
  });
});

describe('a showroom visit the DMS reports', () => {
  /** An outreach call of a vehicle delivered about four years ago, closed with the outcome given at `completedAt`. */
  async function outreachCall(store: string, outcome: object, completedAt = new Date()) {
    const { deliveryId } = await seedCustomer(db, store, { deliveredAt: new Date(Date.now() - 1_200 * DAY) });
    const { followUpId } = await workflows.activities.openFollowUp({
      deliveryId, stepKey: 'replacement-year-4', role: 'consultant', checklist: ['x'], survey: false, mandatory: false, maxAttempts: 1,
      dueStart: new Date(completedAt.getTime() - DAY).toISOString(), dueEnd: new Date(completedAt.getTime() + 7 * DAY).toISOString(),
    });
    await workflows.activities.recordOutcome({ followUpId, outcome: outcome as never, completedAt: completedAt.toISOString(), retryAfterMinutes: 60, attemptNumber: 1 });
    return { deliveryId, followUpId };
  }
  const visit = (deliveryId: string, visitedAt: string, who = 'admin') => api.request('POST', `/v1/deliveries/${deliveryId}/showroom-visits`, { headers: as(who), body: { visitedAt } });

  it('turns the invitation that booked it into came, once however often or concurrently it is reported, and the invitation-to-visit KPI counts it', async () => {
    const kpiStore = (await seedStore(db)).store.id;
    const booked = await outreachCall(kpiStore, { reached: true, satisfied: true, showroomVisit: 'booked' });
    const from = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10);
    const invitationToVisit = async () => (await api.request('GET', `/v1/kpis/years?storeId=${kpiStore}&from=${from}&to=${to}`, { headers: as('admin') }))
      .json().kpis.find((k: { key: string }) => k.key === 'invitationToVisit');
    expect(await invitationToVisit()).toMatchObject({ numerator: 0, denominator: 1 });

    const now = new Date().toISOString();
    const answers = await Promise.all([visit(booked.deliveryId, now), visit(booked.deliveryId, now)]);
    expect(answers.map((r) => [r.statusCode, r.json()])).toEqual([0, 1].map(() => [200, { deliveryId: booked.deliveryId, outreachCallId: booked.followUpId }]));
    expect((await db.followUp.findUniqueOrThrow({ where: { id: booked.followUpId } })).showroomVisit).toBe('came');
    expect(await db.auditLog.findMany({ where: { entity: 'task', entityId: booked.followUpId, action: 'task.showroom-visit' } })).toEqual([
      expect.objectContaining({ actorKind: 'api-key', before: { showroomVisit: 'booked' }, after: { showroomVisit: 'came', visitedAt: now } }),
    ]);
    expect(await invitationToVisit()).toMatchObject({ numerator: 1, denominator: 1 });
  });

  it('counts nothing for a visit before the booking, one long after it, or a vehicle no invitation booked', async () => {
    const store = (await seedStore(db)).store.id;
    const booked = await outreachCall(store, { reached: true, satisfied: true, showroomVisit: 'booked' }, new Date(Date.now() - 10 * DAY));
    expect((await visit(booked.deliveryId, new Date(Date.now() - 11 * DAY).toISOString())).json().outreachCallId).toBeNull();
    const old = await outreachCall(store, { reached: true, satisfied: true, showroomVisit: 'booked' }, new Date(Date.now() - 90 * DAY));
    expect((await visit(old.deliveryId, new Date().toISOString())).json().outreachCallId).toBeNull();
    const noVisit = await outreachCall(store, { reached: true, satisfied: false });
    expect((await visit(noVisit.deliveryId, new Date().toISOString())).json().outreachCallId).toBeNull();
    const rows = await db.followUp.findMany({ where: { id: { in: [booked.followUpId, old.followUpId, noVisit.followUpId] } }, orderBy: { completedAt: 'asc' } });
    expect(rows.map((r) => r.showroomVisit)).toEqual(['booked', 'booked', null]);
  });

  it('refuses a bad time naming visitedAt, staff (the DMS reports it) and another store\'s delivery', async () => {
    const booked = await outreachCall(storeId, { reached: true, satisfied: true, showroomVisit: 'booked' });
    for (const visitedAt of [new Date(Date.now() + DAY).toISOString(), new Date(Date.now() - 2_000 * DAY).toISOString(), 'yesterday']) {
      const res = await visit(booked.deliveryId, visitedAt);
      expect({ visitedAt, status: res.statusCode, fields: [...new Set(fieldsOf(res))] }).toEqual({ visitedAt, status: 400, fields: ['visitedAt'] });
    }
    expect((await visit(booked.deliveryId, new Date().toISOString(), 'cr1')).statusCode).toBe(403);
    expect((await visit(booked.deliveryId, new Date().toISOString(), 'othercr')).statusCode).toBe(404);
    expect((await db.followUp.findUniqueOrThrow({ where: { id: booked.followUpId } })).showroomVisit).toBe('booked');
  });
});
