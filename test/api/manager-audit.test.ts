import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, recordingTemporal, seedCustomer, seedStore } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let headers: { authorization: string };

const DAY = 86400_000;
const at = (iso: string) => new Date(iso);

/**
 * A store in March 2026 (Asia/Shanghai): consultants 李明 (team of supervisor 周杰) and 王芳 (no
 * team), and follow-ups whose outcome is known. The audit reads as of now, long after March 2026.
 */
let seeded: Awaited<ReturnType<typeof seed>>;
async function seed() {
  const { store, consultant, cr } = await seedStore(db);
  const storeId = store.id;
  const supervisor = await db.staff.create({ data: { storeId, externalId: 'sup', name: '周杰', role: 'supervisor' } });
  await db.staff.update({ where: { id: consultant.id }, data: { supervisorId: supervisor.id } });
  const other = await db.staff.create({ data: { storeId, externalId: 'c2', name: '王芳', role: 'consultant' } });
  let step = 0;
  const followUp = async (assigneeId: string | null, dueEnd: string, status: string, extra: object = {}) => {
    const { deliveryId } = await seedCustomer(db, storeId);
    const end = at(dueEnd);
    return (await db.followUp.create({
      data: {
        storeId, deliveryId, stepKey: `step-${++step}`, kind: 'call', role: 'consultant', channel: 'phone', assigneeId, checklist: [],
        dueStart: new Date(end.getTime() - DAY), dueEnd: end, status, ...extra,
      },
    })).id;
  };
  const ids = {
    onTime: await followUp(consultant.id, '2026-03-03T12:00:00Z', 'done_on_time'),
    late: await followUp(consultant.id, '2026-03-05T12:00:00Z', 'done_late'),
    missed: await followUp(other.id, '2026-03-06T12:00:00Z', 'missed'),
    overdue: await followUp(other.id, '2026-03-19T12:00:00Z', 'open'),
    notYetDue: await followUp(other.id, '2026-03-25T12:00:00Z', 'open'),
    supervisorLate: await followUp(supervisor.id, '2026-03-07T12:00:00Z', 'done_late'),
    nobodysMissed: await followUp(null, '2026-03-08T12:00:00Z', 'missed'),
    recordedLate: await followUp(consultant.id, '2026-03-09T12:00:00Z', 'done_late', { recordedLate: true }),
    cancelled: await followUp(consultant.id, '2026-03-10T12:00:00Z', 'cancelled'),
    lastMonth: await followUp(consultant.id, '2026-02-20T12:00:00Z', 'missed'),
  };
  const { deliveryId } = await seedCustomer(db, storeId);
  const caseOf = (data: object) => db.escalationCase.create({ data: { storeId, deliveryId, reason: 'dissatisfied', assigneeId: cr.id, createdAt: at('2026-03-10T02:00:00Z'), ...data } });
  const cases = {
    answeredInTime: (await caseOf({ respondBy: at('2026-03-10T06:00:00Z'), acknowledgedAt: at('2026-03-10T03:00:00Z'), resolveBy: at('2026-03-11T06:00:00Z'), status: 'resolved', resolvedAt: at('2026-03-11T01:00:00Z') })).id,
    overdue: (await caseOf({ respondBy: at('2026-03-10T06:00:00Z'), resolveBy: at('2026-03-11T06:00:00Z'), dueAt: at('2026-03-10T06:00:00Z') })).id,
    resolvedLate: (await caseOf({ respondBy: at('2026-03-10T06:00:00Z'), acknowledgedAt: at('2026-03-10T05:00:00Z'), resolveBy: at('2026-03-11T06:00:00Z'), status: 'resolved', resolvedAt: at('2026-03-12T01:00:00Z') })).id,
  };
  return { storeId, consultant, supervisor, other, cr, ids, cases };
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  api = await buildApi(db, recordingTemporal().client);
  headers = { authorization: `Bearer ${await adminKey(db)}` };
  seeded = await seed();
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const march = () => `storeId=${seeded.storeId}&from=2026-03-01&to=2026-04-01`;
const get = async (path: string) => {
  const res = await api.request('GET', path, { headers });
  expect({ path, status: res.statusCode }).toEqual({ path, status: 200 });
  return res.json();
};
const byGroup = (groups: { groupId: string | null }[]) => Object.fromEntries(groups.map((g) => [g.groupId ?? 'none', g]));

describe('the manager audit of follow-ups', () => {
  it('counts due, on time, late, missed, overdue and recorded-late calls per staff member, with cancelled calls nowhere', async () => {
    const groups = byGroup((await get(`/v1/audits/follow-ups?${march()}&by=staff`)).groups);
    expect(groups[seeded.consultant.id]).toMatchObject({ name: '李明', due: 3, onTime: 1, late: 2, missed: 0, overdue: 0, recordedLate: 1 });
    // Both of 王芳's open calls are overdue: their windows closed long before now.
    expect(groups[seeded.other.id]).toMatchObject({ due: 3, missed: 1, overdue: 2 });
    expect(groups.none).toMatchObject({ name: null, due: 1, missed: 1 });
  });

  it('by team: a consultant\'s calls count for their supervisor\'s team, a supervisor\'s own calls too; by store: one row', async () => {
    const teams = byGroup((await get(`/v1/audits/follow-ups?${march()}&by=team`)).groups);
    expect(teams[seeded.supervisor.id]).toMatchObject({ name: '周杰', due: 4, late: 3, onTime: 1 });
    expect(teams.none).toMatchObject({ due: 4, missed: 2 });
    const { groups } = await get(`/v1/audits/follow-ups?${march()}&by=store`);
    expect(groups).toEqual([expect.objectContaining({ groupId: seeded.storeId, due: 8, late: 3, missed: 2, onTime: 1, overdue: 2 })]);
  });

  it('opens the rows behind a number, page by page, and only that group\'s', async () => {
    const first = await get(`/v1/audits/follow-ups/rows?${march()}&by=team&groupId=${seeded.supervisor.id}&figure=late&limit=2`);
    expect(first.items.map((r: { followUpId: string }) => r.followUpId)).toEqual([seeded.ids.late, seeded.ids.supervisorLate]);
    const second = await get(`/v1/audits/follow-ups/rows?${march()}&by=team&groupId=${seeded.supervisor.id}&figure=late&limit=2&cursor=${first.nextCursor}`);
    expect(second).toEqual({ items: [expect.objectContaining({ followUpId: seeded.ids.recordedLate, recordedLate: true })], nextCursor: null });
    const nobody = await get(`/v1/audits/follow-ups/rows?${march()}&by=staff&groupId=none&figure=missed`);
    expect(nobody.items.map((r: { followUpId: string }) => r.followUpId)).toEqual([seeded.ids.nobodysMissed]);
    const february = await get(`/v1/audits/follow-ups/rows?storeId=${seeded.storeId}&from=2026-02-01&to=2026-03-01&figure=missed`);
    expect(february.items.map((r: { followUpId: string }) => r.followUpId)).toEqual([seeded.ids.lastMonth]);
  });
});

describe('the manager audit of cases', () => {
  it('counts opened, open, overdue, late first responses, resolved and resolved late per owner, with the rows', async () => {
    const [owner] = (await get(`/v1/audits/cases?${march()}`)).groups;
    expect(owner).toMatchObject({ groupId: seeded.cr.id, opened: 3, open: 1, overdue: 1, respondedLate: 1, resolved: 2, resolvedLate: 1 });
    const late = await get(`/v1/audits/cases/rows?${march()}&figure=resolvedLate`);
    expect(late.items).toEqual([expect.objectContaining({ caseId: seeded.cases.resolvedLate, resolvedAt: '2026-03-12T01:00:00.000Z' })]);
  });
});

describe('bad input and scope', () => {
  it('names the field at fault', async () => {
    for (const [query, field] of [
      [`${march()}&by=region`, 'by'], [`${march()}&figure=late&cursor=x`, 'cursor'], [`${march()}&figure=late&cursor=2026-99-99T00:00:00.000Z_${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`, 'cursor'],
      [`${march()}&figure=late&cursor=2026-03-01T00:00:00.000Z_${'-'.repeat(36)}`, 'cursor'], [`storeId=${seeded.storeId}&from=2026-03-01`, 'to'],
      [`${march()}&figure=everything`, 'figure'], [`${march()}&figure=late&groupId=a%00b`, 'groupId'],
    ]) {
      const path = query.includes('figure') ? `/v1/audits/follow-ups/rows?${query}` : `/v1/audits/follow-ups?${query}`;
      const res = await api.request('GET', path, { headers });
      expect({ query, status: res.statusCode, fields: res.json().issues?.map((i: { field: string }) => i.field.replace(/^querystring\./, '')) }).toEqual({ query, status: 400, fields: [field] });
    }
  });

  it('another store\'s key reads nothing of this store', async () => {
    const other = await seedStore(db);
    const res = await api.request('GET', `/v1/audits/follow-ups?${march()}`, { headers: { authorization: `Bearer ${await adminKey(db, other.store.id)}` } });
    expect(res.statusCode).toBe(403);
  });
});
