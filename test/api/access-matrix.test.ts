import type { Db } from '../../src/db/client';
import { DEFAULT_PLAN } from '../../src/domain/plan';
import { DEFAULT_OPENING_HOURS } from '../../src/domain/working-hours';
import { DEFAULT_YEARS_PLAN } from '../../src/domain/years';
import { createStore } from '../../src/services/stores';
import { createTestDatabase } from '../helpers/db';
import { createLogin } from '../helpers/staff-logins';
import { type Api, buildApi, recordingTemporal } from '../messaging/fixtures';
import { createApiKey } from '../../src/services/stores';

/**
 * The access matrix: each role signs in and tries every endpoint family on its own records, its
 * team's, the store's and another store's. The table is printed and must equal the expected one.
 * Cells: the HTTP status, or for lists which of the records they showed (1: C1's, 2: C2's, 3: C3's,
 * s: the survey call, b: store B's), "-" for none. A 400 passed the access check and was refused for
 * its input (the upload has no file). Another store answers 404 to staff; to a key, whose scope is
 * no secret, 403 where the store is named in the path or query, 404 where a record's ID is.
 *
 * Store A: supervisor S1 leads consultants C1 and C2; C3 has no team; CR specialists R1 and R2;
 * sales manager M1; general manager G1, who also runs store C (a group role). Store B: consultant
 * CB. Deliveries and their day-2 calls: C1's, C2's, C3's and CB's; the survey call of C3's
 * delivery is R2's. CX (consultant at A) left before the test; "key A" is A's integration key.
 */

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));
jest.setTimeout(120_000);

const PASSWORD = 'matrix password 1';
const ROLES = ['consultant', 'supervisor', 'cr', 'manager', 'gm(A+C)', 'left', 'key A'] as const;
type Who = (typeof ROLES)[number];

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
const auth = new Map<Who, string>();
const ids: Record<string, string> = {};

async function person(storeId: string, externalId: string, role: string, supervisorId?: string) {
  const s = await db.staff.create({ data: { storeId, externalId, name: externalId, role, supervisorId } });
  ids[externalId] = s.id;
  return s;
}

async function delivery(storeId: string, consultant: string, n: number) {
  const customer = await db.customer.create({ data: { storeId, externalId: `K-${n}`, name: '王女士', phone: `+8613800000${String(n).padStart(3, '0')}` } });
  const vehicle = await db.vehicle.create({ data: { storeId, vin: `LSVAU2180N${String(n).padStart(7, '0')}`, model: 'Model Y' } });
  const d = await db.delivery.create({
    data: { storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: ids[consultant], deliveredAt: new Date(), workflowId: `vehicle-${storeId}-${vehicle.vin}` },
  });
  await db.message.create({
    data: {
      storeId, customerId: customer.id, deliveryId: d.id, idempotencyKey: `m-${n}`, channel: 'sms', purpose: 'service', templateKey: 'delivery-thank-you',
      locale: 'zh-CN', transport: 'outbox', toAddress: customer.phone, body: '谢谢', status: 'sent',
    },
  });
  return { deliveryId: d.id, customerId: customer.id };
}

async function task(storeId: string, deliveryId: string, stepKey: string, role: string, assignee: string) {
  const f = await db.followUp.create({
    data: {
      storeId, deliveryId, stepKey, kind: 'call', role, channel: 'phone', assigneeId: ids[assignee], survey: role === 'cr_specialist',
      dueStart: new Date(Date.now() - 3600_000), dueEnd: new Date(Date.now() + 86400_000), checklist: [],
    },
  });
  return f.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  api = await buildApi(db, recordingTemporal().client);
  for (const id of ['st-a', 'st-b', 'st-c']) await createStore(db, { id, name: id, timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }, 'test');
  const s1 = await person('st-a', 'S1', 'supervisor');
  for (const [id, sup] of [['C1', s1.id], ['C2', s1.id], ['C3', undefined], ['CX', undefined]] as const) await person('st-a', id, 'consultant', sup);
  for (const [id, role] of [['R1', 'cr_specialist'], ['R2', 'cr_specialist'], ['M1', 'manager'], ['G1', 'general_manager']]) await person('st-a', id, role);
  await person('st-c', 'G1c', 'general_manager');
  await person('st-b', 'CB', 'consultant');

  const d1 = await delivery('st-a', 'C1', 1);
  const d2 = await delivery('st-a', 'C2', 2);
  const d3 = await delivery('st-a', 'C3', 3);
  const d4 = await delivery('st-b', 'CB', 4);
  Object.assign(ids, { d1: d1.deliveryId, d2: d2.deliveryId, d3: d3.deliveryId, d4: d4.deliveryId, k1: d1.customerId, k2: d2.customerId, k3: d3.customerId, k4: d4.customerId });
  ids.t1 = await task('st-a', d1.deliveryId, 'day-2-call', 'consultant', 'C1');
  ids.t2 = await task('st-a', d2.deliveryId, 'day-2-call', 'consultant', 'C2');
  ids.t3 = await task('st-a', d3.deliveryId, 'day-2-call', 'consultant', 'C3');
  ids.ts = await task('st-a', d3.deliveryId, 'day-7-survey', 'cr_specialist', 'R2');
  ids.t4 = await task('st-b', d4.deliveryId, 'day-2-call', 'consultant', 'CB');
  for (const [name, storeId, deliveryId, holder] of [['c1', 'st-a', d1.deliveryId, 'R1'], ['c3', 'st-a', d3.deliveryId, 'R2'], ['c4', 'st-b', d4.deliveryId, 'CB']]) {
    ids[name] = (await db.escalationCase.create({ data: { storeId, deliveryId, reason: 'complaint', assigneeId: ids[holder], openedBy: 'system' } })).id;
  }

  for (const [name, storeId] of [['ja', 'st-a'], ['jb', 'st-b']]) {
    ids[name] = (await db.importJob.create({ data: { storeId, fileName: 'dms.csv', filePath: `/nowhere/${name}.csv`, format: 'csv', sizeBytes: 1, createdBy: 'test' } })).id;
  }

  const logins: [Who, string[]][] = [['consultant', ['C1']], ['supervisor', ['S1']], ['cr', ['R1']], ['manager', ['M1']], ['gm(A+C)', ['G1', 'G1c']], ['left', ['CX']]];
  for (const [who, rows] of logins) {
    const login = who.replace(/\W/g, '').toLowerCase();
    ids[`login:${who}`] = await createLogin(db, login, PASSWORD, rows.map((r) => ids[r]));
    const signedIn = await api.request('POST', '/v1/auth/sign-in', { body: { login, password: PASSWORD, session: 'bearer' } });
    auth.set(who, signedIn.json().token);
  }
  auth.set('key A', (await createApiKey(db, { name: 'dms', role: 'integration', storeId: 'st-a' })).key);
  // CX leaves after signing in: the session ends with the job.
  const admin = (await createApiKey(db, { name: 'admin', role: 'admin', storeId: null })).key;
  const left = await api.request('POST', `/v1/staff-logins/${ids['login:left']}/deactivate`, { headers: { authorization: `Bearer ${admin}` } });
  expect(left.statusCode).toBe(200);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

type Probe = (who: Who) => Promise<string>;

const call = async (who: Who, method: string, path: string, body?: object) =>
  api.request(method, path, { headers: { authorization: `Bearer ${auth.get(who)}`, ...(who === 'key A' && { 'x-staff-id': ids.C1 }) }, body });
const status = (method: string, path: string | (() => string), body?: object): Probe =>
  async (who) => String((await call(who, method, typeof path === 'function' ? path() : path, body)).statusCode);

/** Which of the fixed records a list showed. */
const LETTERS: [string, string][] = [['1', 'C1'], ['2', 'C2'], ['3', 'C3'], ['s', 'survey'], ['b', 'CB']];
const listed = (path: string, pick: (body: any) => string[], records: () => Record<string, string>): Probe => async (who) => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await call(who, 'GET', path);
  if (res.statusCode !== 200) return String(res.statusCode);
  const seen = new Set(pick(res.json()));
  const byName = records();
  return LETTERS.filter(([, name]) => byName[name] && seen.has(byName[name])).map(([letter]) => letter).join('') || '-';
};

/** A probe on a record made for each call (the call may change or end it). */
const fresh = (make: () => Promise<string>, method: string, path: (id: string) => string, body?: object): Probe =>
  async (who) => String((await call(who, method, path(await make()), body)).statusCode);
let n = 0;
const freshStaff = async () => {
  const s = await db.staff.create({ data: { storeId: 'st-a', externalId: `F-${++n}`, name: 'F', role: 'consultant' } });
  return s.externalId;
};
const freshCandidate = (delivery: 'd1' | 'd4') => async () => {
  const { storeId } = await db.delivery.findUniqueOrThrow({ where: { id: ids[delivery] } });
  return (await db.replacementCandidate.create({ data: { storeId, deliveryId: ids[delivery], cycle: `year-${++n}`, facts: { ageMonths: 40, model: 'Model Y', lastServiceOn: null, forecastKm: null } } })).id;
};
const freshThreshold = (storeId: string) => async () => {
  await db.kpiThreshold.upsert({ where: { storeId_kpi: { storeId, kpi: 'timeliness' } }, update: {}, create: { storeId, kpi: 'timeliness', minimum: 80 } });
  return storeId;
};

const tasksByName = () => ({ C1: ids.t1, C2: ids.t2, C3: ids.t3, survey: ids.ts, CB: ids.t4 });
const signIn: Probe = async (who) => who === 'key A' ? 'n/a'
  : String((await api.request('POST', '/v1/auth/sign-in', { body: { login: who.replace(/\W/g, '').toLowerCase(), password: PASSWORD } })).statusCode);

const PROBES: [string, Probe][] = [
  ['sign in', signIn],
  ['delivery own', status('GET', () => `/v1/deliveries/${ids.d1}`)],
  ['delivery team', status('GET', () => `/v1/deliveries/${ids.d2}`)],
  ['delivery store', status('GET', () => `/v1/deliveries/${ids.d3}`)],
  ['delivery other-store', status('GET', () => `/v1/deliveries/${ids.d4}`)],
  ['task list', listed('/v1/tasks?status=all', (b) => b.tasks.map((x: { id: string }) => x.id), tasksByName)],
  ['task own', status('GET', () => `/v1/tasks/${ids.t1}`)],
  ['task team', status('GET', () => `/v1/tasks/${ids.t2}`)],
  ['task store', status('GET', () => `/v1/tasks/${ids.t3}`)],
  ['task survey call', status('GET', () => `/v1/tasks/${ids.ts}`)],
  ['task other-store', status('GET', () => `/v1/tasks/${ids.t4}`)],
  ['complete own', status('POST', () => `/v1/tasks/${ids.t1}/complete`, { reached: true, satisfied: true })],
  ['complete store', status('POST', () => `/v1/tasks/${ids.t3}/complete`, { reached: true, satisfied: true })],
  ['complete survey', status('POST', () => `/v1/tasks/${ids.ts}/complete`, { reached: true, satisfied: true })],
  ['complete other-store', status('POST', () => `/v1/tasks/${ids.t4}/complete`, { reached: true, satisfied: true })],
  ['reassign own', status('POST', () => `/v1/tasks/${ids.t1}/reassign`, { get assigneeId() { return ids.C1; } })],
  ['reassign store', status('POST', () => `/v1/tasks/${ids.t3}/reassign`, { get assigneeId() { return ids.C3; } })],
  ['reassign other-store', status('POST', () => `/v1/tasks/${ids.t4}/reassign`, { get assigneeId() { return ids.CB; } })],
  ['customer own', status('GET', () => `/v1/customers/${ids.k1}/consents`)],
  ['customer team', status('GET', () => `/v1/customers/${ids.k2}/consents`)],
  ['customer store', status('GET', () => `/v1/customers/${ids.k3}/consents`)],
  ['customer other-store', status('GET', () => `/v1/customers/${ids.k4}/consents`)],
  ['case list', listed('/v1/cases', (b) => b.cases.map((c: { id: string }) => c.id), () => ({ C1: ids.c1, C3: ids.c3, CB: ids.c4 }))],
  ['case own delivery', status('GET', () => `/v1/cases/${ids.c1}`)],
  ['case store', status('GET', () => `/v1/cases/${ids.c3}`)],
  ['case other-store', status('GET', () => `/v1/cases/${ids.c4}`)],
  ['case acknowledge', status('POST', () => `/v1/cases/${ids.c1}/acknowledge`, {})],
  ['case acknowledge other', status('POST', () => `/v1/cases/${ids.c4}/acknowledge`, {})],
  ['messages list', listed('/v1/messages', (b) => b.map((m: { deliveryId: string }) => m.deliveryId), () => ({ C1: ids.d1, C2: ids.d2, C3: ids.d3, CB: ids.d4 }))],
  ['kpi own', status('GET', () => `/v1/kpis?storeId=st-a&staffId=${ids.C1}`)],
  ['kpi team', status('GET', () => `/v1/kpis?storeId=st-a&staffId=${ids.C2}`)],
  ['kpi store', status('GET', () => `/v1/kpis?storeId=st-a&staffId=${ids.C3}`)],
  ['kpi other-store', status('GET', '/v1/kpis?storeId=st-b')],
  ['kpi ranking', status('GET', '/v1/kpis/ranking?storeId=st-a&metric=timeliness')],
  ['staff list', listed('/v1/stores/st-a/staff', (b) => b.map((s: { id: string }) => s.id), () => ({ C1: ids.C1, C2: ids.C2, C3: ids.C3 }))],
  ['staff other-store', status('GET', '/v1/stores/st-b/staff')],
  ['plan read', status('GET', '/v1/stores/st-a/plan')],
  ['plan edit', status('PUT', '/v1/stores/st-a/plan', DEFAULT_PLAN)],
  ['plan edit other-store', status('PUT', '/v1/stores/st-b/plan', DEFAULT_PLAN)],
  ['template edit', status('PUT', '/v1/stores/st-a/templates/delivery-thank-you/zh-CN/sms', { purpose: 'service', body: '感谢您在{{storeName}}购车', variables: ['storeName'] })],
  ['manager audit', status('GET', '/v1/audits/follow-ups?storeId=st-a')],
  ['manager audit other-store', status('GET', '/v1/audits/follow-ups?storeId=st-b')],
  ['audit log', status('GET', '/v1/audit?storeId=st-a')],
  ['audit log other-store', status('GET', '/v1/audit?storeId=st-b')],
  ['create login other-store', status('POST', '/v1/staff-logins', { login: 'cb-login', staff: [{ storeId: 'st-b', externalId: 'CB' }] })],
  ['who am I', status('GET', '/v1/auth/me')],
  ['store settings read', status('GET', '/v1/stores/st-a/settings')],
  ['store settings edit', status('PATCH', '/v1/stores/st-a/settings', { reclaimAfterDays: 30 })],
  ['store settings other-store', status('GET', '/v1/stores/st-b/settings')],
  ['kpi thresholds read', status('GET', '/v1/stores/st-a/kpi-thresholds')],
  ['kpi threshold set', status('PUT', '/v1/stores/st-a/kpi-thresholds/timeliness', { minimum: 80 })],
  ['kpi threshold remove', fresh(freshThreshold('st-a'), 'DELETE', (store) => `/v1/stores/${store}/kpi-thresholds/timeliness`)],
  ['kpi threshold other-store', fresh(freshThreshold('st-b'), 'DELETE', (store) => `/v1/stores/${store}/kpi-thresholds/timeliness`)],
  ['case policy read', status('GET', '/v1/stores/st-a/case-policy')],
  ['case policy edit', status('PUT', '/v1/stores/st-a/case-policy', { openingHours: DEFAULT_OPENING_HOURS, firstResponseMinutes: 240, resolutionMinutes: 1440, smsFromLevel: 3 })],
  ['case policy other-store', status('GET', '/v1/stores/st-b/case-policy')],
  ['calendar read', status('GET', '/v1/stores/st-a/calendar/2026')],
  ['calendar edit', status('PUT', '/v1/stores/st-a/calendar/2027', { holidays: [{ date: '2027-01-01', name: '元旦' }], workdays: [] })],
  ['calendar other-store', status('PUT', '/v1/stores/st-b/calendar/2027', { holidays: [], workdays: [] })],
  ['staff edit', status('PUT', '/v1/stores/st-a/staff/C3', { name: 'C3', role: 'consultant' })],
  ['staff edit other-store', status('PUT', '/v1/stores/st-b/staff/CB', { name: 'CB', role: 'consultant' })],
  ['staff deactivate', fresh(freshStaff, 'POST', (externalId) => `/v1/stores/st-a/staff/${externalId}/deactivate`)],
  ['staff deactivate other-store', status('POST', '/v1/stores/st-b/staff/CB/deactivate')],
  ['templates read', status('GET', '/v1/stores/st-a/templates')],
  ['templates other-store', status('GET', '/v1/stores/st-b/templates')],
  ['years plan read', status('GET', '/v1/stores/st-a/years-plan')],
  ['years plan edit', status('PUT', '/v1/stores/st-a/years-plan', DEFAULT_YEARS_PLAN)],
  ['years plan other-store', status('PUT', '/v1/stores/st-b/years-plan', DEFAULT_YEARS_PLAN)],
  ['import read', status('GET', () => `/v1/imports/${ids.ja}`)],
  ['import rows', status('GET', () => `/v1/imports/${ids.ja}/rows`)],
  ['import other-store', status('GET', () => `/v1/imports/${ids.jb}`)],
  ['import upload', status('POST', '/v1/imports?storeId=st-a')],
  ['vehicle event own', status('POST', () => `/v1/deliveries/${ids.d1}/vehicle-events`, { kind: 'odometer', get readAt() { return new Date().toISOString(); }, km: 1200 })],
  ['vehicle event other-store', status('POST', () => `/v1/deliveries/${ids.d4}/vehicle-events`, { kind: 'odometer', get readAt() { return new Date().toISOString(); }, km: 1200 })],
  ['showroom visit own', status('POST', () => `/v1/deliveries/${ids.d1}/showroom-visits`, { get visitedAt() { return new Date().toISOString(); } })],
  ['showroom visit other-store', status('POST', () => `/v1/deliveries/${ids.d4}/showroom-visits`, { get visitedAt() { return new Date().toISOString(); } })],
  ['replacement criteria read', status('GET', '/v1/stores/st-a/replacement-criteria')],
  ['replacement criteria edit', status('PUT', '/v1/stores/st-a/replacement-criteria', {
    enabled: true, screeningWeekday: 1, minAgeMonths: 36, maxAgeMonths: 60, models: [], lastServiceWithinMonths: null, minMileageKm: null, callWindowDays: 7,
  })],
  ['replacement candidates', status('GET', '/v1/stores/st-a/replacement-candidates')],
  ['replacement candidates other', status('GET', '/v1/stores/st-b/replacement-candidates')],
  ['replacement decision', fresh(freshCandidate('d1'), 'POST', (id) => `/v1/replacement-candidates/${id}/decision`, { decision: 'no_intent' })],
  ['replacement decision other', fresh(freshCandidate('d4'), 'POST', (id) => `/v1/replacement-candidates/${id}/decision`, { decision: 'no_intent' })],
  ['ownership end own', status('POST', () => `/v1/deliveries/${ids.d1}/end`, { reason: 'sold' })],
  ['ownership end store', status('POST', () => `/v1/deliveries/${ids.d3}/end`, { reason: 'sold' })],
  ['ownership end other-store', status('POST', () => `/v1/deliveries/${ids.d4}/end`, { reason: 'sold' })],
  ['contact window own', status('PUT', () => `/v1/customers/${ids.k1}/contact-window`, { start: '09:00', end: '20:00' })],
  ['contact window store', status('PUT', () => `/v1/customers/${ids.k3}/contact-window`, { start: '09:00', end: '20:00' })],
  ['contact window other-store', status('PUT', () => `/v1/customers/${ids.k4}/contact-window`, { start: '09:00', end: '20:00' })],
  ['consents edit own', status('PUT', () => `/v1/customers/${ids.k1}/consents`, { consents: [{ channel: 'sms', purpose: 'marketing', granted: false }] })],
  ['consents edit store', status('PUT', () => `/v1/customers/${ids.k3}/consents`, { consents: [{ channel: 'sms', purpose: 'marketing', granted: false }] })],
  ['consents edit other-store', status('PUT', () => `/v1/customers/${ids.k4}/consents`, { consents: [{ channel: 'sms', purpose: 'marketing', granted: false }] })],
  ['case open by hand', status('POST', '/v1/cases', { get deliveryId() { return ids.d3; }, detail: '客户来电投诉' })],
  ['case open other-store', status('POST', '/v1/cases', { get deliveryId() { return ids.d4; }, detail: '客户来电投诉' })],
  ['case list other-store', status('GET', '/v1/cases?storeId=st-b')],
  ['case audit', status('GET', '/v1/audits/cases?storeId=st-a')],
  ['kpi rows other-store', status('GET', '/v1/kpis/timeliness/rows?storeId=st-b')],
  ['audit log all stores', status('GET', '/v1/audit')],
  // Last: it ends C1's sessions.
  ['reset C1 password', status('POST', () => `/v1/staff-logins/${ids['login:consultant']}/reset-password`)],
];

// Rows in PROBES order; columns in ROLES order.
const EXPECTED = `
                              consultant  supervisor  cr          manager     gm(A+C)     left        key A
sign in                       200         200         200         200         200         401         n/a
delivery own                  200         200         200         200         200         401         200
delivery team                 404         200         200         200         200         401         200
delivery store                404         404         200         200         200         401         200
delivery other-store          404         404         404         404         404         401         404
task list                     1           12          s           123s        123s        401         123s
task own                      200         200         404         200         200         401         200
task team                     404         200         404         200         200         401         200
task store                    404         404         404         200         200         401         200
task survey call              404         404         200         200         200         401         200
task other-store              404         404         404         404         404         401         404
complete own                  200         200         404         200         200         401         200
complete store                404         404         404         200         200         401         200
complete survey               404         404         200         200         200         401         200
complete other-store          404         404         404         404         404         401         404
reassign own                  403         200         404         200         200         401         200
reassign store                404         404         404         200         200         401         200
reassign other-store          404         404         404         404         404         401         404
customer own                  200         200         200         200         200         401         200
customer team                 404         200         200         200         200         401         200
customer store                404         404         200         200         200         401         200
customer other-store          404         404         404         404         404         401         404
case list                     1           1           13          13          13          401         13
case own delivery             200         200         200         200         200         401         200
case store                    404         404         200         200         200         401         200
case other-store              404         404         404         404         404         401         404
case acknowledge              403         403         200         200         200         401         200
case acknowledge other        404         404         404         404         404         401         404
messages list                 1           12          123         123         123         401         123
kpi own                       200         200         200         200         200         401         200
kpi team                      404         200         200         200         200         401         200
kpi store                     404         404         200         200         200         401         200
kpi other-store               404         404         404         404         404         401         403
kpi ranking                   403         403         200         200         200         401         200
staff list                    1           12          123         123         123         401         123
staff other-store             404         404         404         404         404         401         403
plan read                     200         200         200         200         200         401         200
plan edit                     403         403         403         200         200         401         403
plan edit other-store         404         404         404         404         404         401         403
template edit                 403         403         403         200         200         401         403
manager audit                 200         200         200         200         200         401         200
manager audit other-store     404         404         404         404         404         401         403
audit log                     403         403         403         200         200         401         403
audit log other-store         404         404         404         404         404         401         403
create login other-store      404         404         404         404         404         401         403
who am I                      200         200         200         200         200         401         403
store settings read           200         200         200         200         200         401         200
store settings edit           403         403         403         200         200         401         403
store settings other-store    404         404         404         404         404         401         403
kpi thresholds read           200         200         200         200         200         401         200
kpi threshold set             403         403         403         200         200         401         403
kpi threshold remove          403         403         403         204         204         401         403
kpi threshold other-store     404         404         404         404         404         401         403
case policy read              200         200         200         200         200         401         200
case policy edit              403         403         403         200         200         401         403
case policy other-store       404         404         404         404         404         401         403
calendar read                 200         200         200         200         200         401         200
calendar edit                 403         403         403         200         200         401         403
calendar other-store          404         404         404         404         404         401         403
staff edit                    403         403         403         200         200         401         200
staff edit other-store        404         404         404         404         404         401         403
staff deactivate              404         404         403         200         200         401         200
staff deactivate other-store  404         404         404         404         404         401         404
templates read                200         200         200         200         200         401         200
templates other-store         404         404         404         404         404         401         403
years plan read               200         200         200         200         200         401         200
years plan edit               403         403         403         200         200         401         403
years plan other-store        404         404         404         404         404         401         403
import read                   403         403         403         200         200         401         200
import rows                   403         403         403         200         200         401         200
import other-store            404         404         404         404         404         401         403
import upload                 403         403         403         403         403         401         400
vehicle event own             403         403         403         403         403         401         200
vehicle event other-store     404         404         404         404         404         401         404
showroom visit own            403         403         403         403         403         401         200
showroom visit other-store    404         404         404         404         404         401         404
replacement criteria read     403         403         200         200         200         401         403
replacement criteria edit     403         403         403         200         200         401         403
replacement candidates        403         403         200         200         200         401         403
replacement candidates other  404         404         404         404         404         401         403
replacement decision          403         403         200         200         200         401         403
replacement decision other    404         404         404         404         404         401         404
ownership end own             403         403         202         202         202         401         202
ownership end store           404         404         202         202         202         401         202
ownership end other-store     404         404         404         404         404         401         404
contact window own            200         200         200         200         200         401         200
contact window store          404         404         200         200         200         401         200
contact window other-store    404         404         404         404         404         401         404
consents edit own             200         200         200         200         200         401         200
consents edit store           404         404         200         200         200         401         200
consents edit other-store     404         404         404         404         404         401         404
case open by hand             404         404         201         201         201         401         201
case open other-store         404         404         404         404         404         401         404
case list other-store         404         404         404         404         404         401         403
case audit                    200         200         200         200         200         401         200
kpi rows other-store          404         404         404         404         404         401         403
audit log all stores          403         403         403         200         200         401         403
reset C1 password             404         404         404         404         200         401         404
`;

function table(rows: [string, string[]][]): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return ['', pad('', width) + ROLES.map((r) => pad(r, 12)).join('').trimEnd(), ...rows.map(([name, cells]) => pad(name, width) + cells.map((c) => pad(c, 12)).join('').trimEnd()), ''].join('\n');
}

describe('the access matrix', () => {
  it('each role reaches its own, its team\'s and its store\'s records as DOMAIN.md section 1 says, never another store\'s; a leaver nothing', async () => {
    const rows: [string, string[]][] = [];
    for (const [name, probe] of PROBES) {
      const cells: string[] = [];
      for (const who of ROLES) cells.push(await probe(who));
      rows.push([name, cells]);
    }
    const actual = table(rows);
    console.log(`access matrix (rows: endpoint family and record; cells: HTTP status, or the records a list showed)${actual}`);
    expect(actual).toBe(EXPECTED.replace(/ +$/gm, ''));
  });
});
