import { recordingTemporal } from '../messaging/fixtures';
import { DateTime } from 'luxon';
import { buildServer } from '../../src/api/server';
import { createApiKey, createStore } from '../../src/services/stores';
import { parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import type { FollowUpStatus } from '../../src/domain/outcome';
import { createTestDatabase } from '../helpers/db';

/*
 * A known March 2026 for two stores, with every KPI's numerator and denominator worked out by
 * hand below. Store A (sh-a) keeps Shanghai time (UTC+8): its March is
 * [2026-02-28T16:00Z, 2026-03-31T16:00Z). Store B (xj-b) keeps Urumqi time (UTC+6). Today is
 * later: every window below has closed (the present has its own table, further down).
 *
 * Deliveries                      consultant  in A's March?                          by appointment
 *   D1  A 03-02 10:00 +08         alice       yes                                    yes
 *   D2  A 03-05 10:00 +08         alice       yes
 *   D3  A 03-10 10:00 +08         alice       yes
 *   D4  A 02-20 10:00 +08         alice       no (February)                          yes
 *   D5  A 03-31 23:30 +08         bob         yes (still March in Shanghai)
 *   D7  A 04-01 00:30 +08         bob         no (April in Shanghai, though still March 31 in UTC)  yes
 *   D9  A 03-20 10:00 +08         alice       yes; reached the system on 03-29       yes
 *   D10 A 03-12 10:00 +08         bob         yes; the ownership ended on 03-16
 *   D6  B 03-03 10:00 +06         dave        yes                                    yes
 *   D8  B 03-15 10:00 +06         dave        yes (no follow-up at all: never surveyed)
 *
 * Follow-ups (calls unless said)  assignee  survey  dueEnd (local)   status        sat   csat nps promises data
 *   F1  D1 (the day-2 call)       alice             03-04 18:00      done_on_time  yes   5    10  kept     right  (scores not from the survey)
 *   F2  D1                        carol     yes     03-09 18:00      done_on_time  yes   4    9            right
 *   F3  D2                        alice             03-07 18:00      done_late     no    2    6   broken   wrong
 *   F4  D2                        carol     yes     03-12 18:00      done_late     no    3    7   kept     right
 *   F5  D3                        alice             03-12 20:00      failed (2 unreached attempts)
 *   F6  D3                        carol     yes     03-17 18:00      missed              1 (by SMS)
 *   F7  D3                        alice             03-20 18:00      open (overdue since March)
 *   F8  D4                        alice             03-01 00:00      done_on_time  yes   -    8   kept            (exactly at `from`: in)
 *   F9  D4                        carol     yes     02-27 18:00      done_on_time  yes   5    10           wrong  (February: out)
 *   F10 D2                        alice             03-25 18:00      cancelled                                   (never counts)
 *   F11 D1 message                (system)          03-05 18:00      done_on_time  yes   1    0                  (not a call: out)
 *   F12 D3                        alice             04-01 00:00      done_on_time  yes   5    10           right  (exactly at `to`: out)
 *   F13 D2                        (nobody)          03-18 18:00      missed                                      (unassigned: counts, ranks nobody)
 *   F14 D1                        erin              03-15 18:00      open
 *   F15 D5                        carol     yes     04-07 18:00      done_on_time  yes   5    9   kept            (April: out of follow-up KPIs)
 *   F16 D7                        carol     yes     04-08 18:00      done_on_time  yes
 *   F17 D9                        alice             03-22 20:00      missed, recorded late                       (timeliness: counted apart)
 *   F18 D9                        carol     yes     03-27 20:00      done_late, recorded late  yes         wrong  (timeliness: counted apart)
 *   F19 D10                       bob               03-14 20:00      missed (its window closed before the ownership ended: it stays)
 *   F23 D10                       bob               03-19 20:00      cancelled (not yet due when the ownership ended)
 *   F20 D6                        dave              03-05 12:00 +06  done_on_time  yes   5    10  kept     right  (scores not from the survey)
 *   F21 D6                        dave              03-06 12:00 +06  missed
 *   F22 D6                        dave      yes     03-10 12:00 +06  done_on_time  yes   4    5            wrong
 */

const MARCH = 'from=2026-03-01&to=2026-04-01';

type Name = string;
const ids: Record<Name, string> = {};
let env: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let app: Awaited<ReturnType<typeof buildServer>>;
let baseUrl: string;
let adminKey: string;
let storeBKey: string;

async function seedStaff(storeId: string, name: string, role: string) {
  const s = await db.staff.create({ data: { storeId, externalId: name, name, role } });
  ids[name] = s.id;
}

async function seedDelivery(
  name: Name, storeId: string, consultant: Name, deliveredAt: string,
  more: { byAppointment?: boolean; createdAt?: string; endedAt?: string } = {},
) {
  const customer = await db.customer.create({ data: { storeId, externalId: `c-${name}`, name: `customer ${name}`, phone: '+8613800138000' } });
  const vehicle = await db.vehicle.create({ data: { storeId, vin: `LSVAU2180N21${name.padStart(5, '0')}`, model: 'Lavida' } });
  const d = await db.delivery.create({
    data: {
      storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: ids[consultant], deliveredAt: new Date(deliveredAt), workflowId: `wf-${name}`,
      byAppointment: more.byAppointment ?? false, ...(more.createdAt && { createdAt: new Date(more.createdAt) }),
      ...(more.endedAt && { status: 'ended', endedAt: new Date(more.endedAt) }),
    },
  });
  ids[name] = d.id;
}

interface FollowUpSeed {
  delivery: Name;
  assignee?: Name;
  kind?: 'call' | 'message';
  survey?: boolean;
  dueEnd: string;
  status: FollowUpStatus;
  attempts?: number;
  satisfied?: boolean;
  csat?: number;
  nps?: number;
  promisesKept?: boolean;
  contactDataCorrect?: boolean;
  recordedLate?: boolean;
  answerChannel?: 'phone' | 'sms' | 'email';
}

async function seedFollowUp(name: Name, f: FollowUpSeed) {
  const delivery = await db.delivery.findUniqueOrThrow({ where: { id: ids[f.delivery] } });
  const dueEnd = new Date(f.dueEnd);
  const done = f.status === 'done_on_time' || f.status === 'done_late';
  const row = await db.followUp.create({
    data: {
      storeId: delivery.storeId, deliveryId: delivery.id, stepKey: name, kind: f.kind ?? 'call', role: f.assignee ? 'consultant' : 'supervisor',
      channel: f.kind === 'message' ? 'sms' : 'phone', assigneeId: f.assignee ? ids[f.assignee] : null,
      dueStart: new Date(dueEnd.getTime() - 24 * 3600_000), dueEnd, status: f.status, survey: f.survey ?? false, checklist: [],
      attempts: f.attempts ?? (done ? 1 : 0), reached: done ? true : f.status === 'failed' ? false : null,
      completedAt: done ? new Date(dueEnd.getTime() + (f.status === 'done_late' ? 3600_000 : -3600_000)) : null,
      satisfied: f.satisfied, csat: f.csat, nps: f.nps, promisesKept: f.promisesKept, contactDataCorrect: f.contactDataCorrect,
      recordedLate: f.recordedLate, answerChannel: f.answerChannel ?? (done ? 'phone' : undefined),
    },
  });
  ids[name] = row.id;
}

beforeAll(async () => {
  env = await createTestDatabase();
  db = env.db;
  await createStore(db, { id: 'sh-a', name: 'Store A', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }, 'test');
  await createStore(db, { id: 'xj-b', name: 'Store B', timeZone: 'Asia/Urumqi', serviceHotline: '400-800-1234' }, 'test');
  adminKey = (await createApiKey(db, { name: 'group admin', role: 'admin', storeId: null })).key;
  storeBKey = (await createApiKey(db, { name: 'store B', role: 'admin', storeId: 'xj-b' })).key;

  await seedStaff('sh-a', 'alice', 'consultant');
  await seedStaff('sh-a', 'bob', 'consultant');
  await seedStaff('sh-a', 'carol', 'cr_specialist');
  await seedStaff('sh-a', 'erin', 'manager');
  await seedStaff('xj-b', 'dave', 'consultant');

  const booked = { byAppointment: true };
  await seedDelivery('D1', 'sh-a', 'alice', '2026-03-02T10:00:00+08:00', booked);
  await seedDelivery('D2', 'sh-a', 'alice', '2026-03-05T10:00:00+08:00');
  await seedDelivery('D3', 'sh-a', 'alice', '2026-03-10T10:00:00+08:00');
  await seedDelivery('D4', 'sh-a', 'alice', '2026-02-20T10:00:00+08:00', booked);
  await seedDelivery('D5', 'sh-a', 'bob', '2026-03-31T23:30:00+08:00');
  await seedDelivery('D7', 'sh-a', 'bob', '2026-04-01T00:30:00+08:00', booked);
  await seedDelivery('D9', 'sh-a', 'alice', '2026-03-20T10:00:00+08:00', { ...booked, createdAt: '2026-03-29T09:00:00+08:00' });
  await seedDelivery('D10', 'sh-a', 'bob', '2026-03-12T10:00:00+08:00', { endedAt: '2026-03-16T12:00:00+08:00' });
  await seedDelivery('D6', 'xj-b', 'dave', '2026-03-03T10:00:00+06:00', booked);
  await seedDelivery('D8', 'xj-b', 'dave', '2026-03-15T10:00:00+06:00');

  const yes = { satisfied: true };
  const right = { contactDataCorrect: true };
  const wrong = { contactDataCorrect: false };
  await seedFollowUp('F1', { delivery: 'D1', assignee: 'alice', dueEnd: '2026-03-04T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, promisesKept: true, ...right });
  await seedFollowUp('F2', { delivery: 'D1', assignee: 'carol', survey: true, dueEnd: '2026-03-09T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 4, nps: 9, ...right });
  await seedFollowUp('F3', { delivery: 'D2', assignee: 'alice', dueEnd: '2026-03-07T18:00:00+08:00', status: 'done_late', satisfied: false, csat: 2, nps: 6, promisesKept: false, ...wrong });
  await seedFollowUp('F4', { delivery: 'D2', assignee: 'carol', survey: true, dueEnd: '2026-03-12T18:00:00+08:00', status: 'done_late', satisfied: false, csat: 3, nps: 7, promisesKept: true, ...right });
  await seedFollowUp('F5', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-03-12T20:00:00+08:00', status: 'failed', attempts: 2 });
  await seedFollowUp('F6', { delivery: 'D3', assignee: 'carol', survey: true, dueEnd: '2026-03-17T18:00:00+08:00', status: 'missed', csat: 1, answerChannel: 'sms' });
  await seedFollowUp('F7', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-03-20T18:00:00+08:00', status: 'open' });
  await seedFollowUp('F8', { delivery: 'D4', assignee: 'alice', dueEnd: '2026-03-01T00:00:00+08:00', status: 'done_on_time', ...yes, nps: 8, promisesKept: true });
  await seedFollowUp('F9', { delivery: 'D4', assignee: 'carol', survey: true, dueEnd: '2026-02-27T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, ...wrong });
  await seedFollowUp('F10', { delivery: 'D2', assignee: 'alice', dueEnd: '2026-03-25T18:00:00+08:00', status: 'cancelled' });
  await seedFollowUp('F11', { delivery: 'D1', kind: 'message', dueEnd: '2026-03-05T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 1, nps: 0 });
  await seedFollowUp('F12', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-04-01T00:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, ...right });
  await seedFollowUp('F13', { delivery: 'D2', dueEnd: '2026-03-18T18:00:00+08:00', status: 'missed' });
  await seedFollowUp('F14', { delivery: 'D1', assignee: 'erin', dueEnd: '2026-03-15T18:00:00+08:00', status: 'open' });
  await seedFollowUp('F15', { delivery: 'D5', assignee: 'carol', survey: true, dueEnd: '2026-04-07T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 9, promisesKept: true });
  await seedFollowUp('F16', { delivery: 'D7', assignee: 'carol', survey: true, dueEnd: '2026-04-08T18:00:00+08:00', status: 'done_on_time', ...yes });
  await seedFollowUp('F17', { delivery: 'D9', assignee: 'alice', dueEnd: '2026-03-22T20:00:00+08:00', status: 'missed', recordedLate: true });
  await seedFollowUp('F18', { delivery: 'D9', assignee: 'carol', survey: true, dueEnd: '2026-03-27T20:00:00+08:00', status: 'done_late', ...yes, recordedLate: true, ...wrong });
  await seedFollowUp('F19', { delivery: 'D10', assignee: 'bob', dueEnd: '2026-03-14T20:00:00+08:00', status: 'missed' });
  await seedFollowUp('F23', { delivery: 'D10', assignee: 'bob', dueEnd: '2026-03-19T20:00:00+08:00', status: 'cancelled' });
  await seedFollowUp('F20', { delivery: 'D6', assignee: 'dave', dueEnd: '2026-03-05T12:00:00+06:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, promisesKept: true, ...right });
  await seedFollowUp('F21', { delivery: 'D6', assignee: 'dave', dueEnd: '2026-03-06T12:00:00+06:00', status: 'missed' });
  await seedFollowUp('F22', { delivery: 'D6', assignee: 'dave', survey: true, dueEnd: '2026-03-10T12:00:00+06:00', status: 'done_on_time', ...yes, csat: 4, nps: 5, ...wrong });

  app = await buildServer({ config: parseConfig({ LOG_LEVEL: 'silent' }), db, temporal: recordingTemporal().client });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await env?.drop();
});

async function get(url: string, key = adminKey) {
  const res = await fetch(`${baseUrl}${url}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

type Kpi = { key: string; numerator: number; denominator: number; rate: number | null; [extra: string]: unknown };

/** key -> [numerator, denominator, rate] */
async function kpis(query: string, key = adminKey): Promise<Record<string, [number, number, number | null]>> {
  const res = await get(`/v1/kpis?${query}`, key);
  expect(res.status).toBe(200);
  return Object.fromEntries((res.body.kpis as Kpi[]).map((k) => [k.key, [k.numerator, k.denominator, k.rate]]));
}

type Page = { subject: string; items: Record<string, unknown>[]; nextCursor: string | null };
async function allPages(key: string, query: string, limit: number): Promise<{ pages: number[]; items: Record<string, unknown>[] }> {
  const pages: number[] = [];
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const res = await get(`/v1/kpis/${key}/rows?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = res.body as Page;
    pages.push(page.items.length);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return { pages, items };
}
const name = (id: unknown) => Object.keys(ids).find((k) => ids[k] === id);

describe('GET /v1/kpis', () => {
  it('counts store A\'s March by hand, every due follow-up in the denominator, including those never done', async () => {
    expect(await kpis(`storeId=sh-a&${MARCH}`)).toEqual({
      // completed: F1 F2 F3 F4 F8 F18 = 6; satisfied among them: F1 F2 F8 F18 = 4
      satisfaction: [4, 6, 66.7],
      // due: F1-F8 F13 F14 F17 F18 F19 = 13 (missed F6 F13 F17 F19, open F7 F14 included; F9 F10 F11 F12 F23 out)
      // recorded: the 6 completed + failed F5 = 7
      recordingCompletion: [7, 13, 53.8],
      // the 13 due less the recorded-late F17 F18 = 11; on time: F1 F2 F8
      timeliness: [3, 11, 27.3],
      // recorded late: F17 F18 of the 13 whose window has closed
      recordedLate: [2, 13, 15.4],
      // deliveries: D1 D2 D3 D5 D9 D10 = 6 (D4 February, D7 April); survey satisfied: D1 (F2), D5 (F15, due in April), D9 (F18) = 3
      // D2's survey was dissatisfied, D3's never done, D10 never surveyed: in the denominator only
      deliverySatisfaction: [3, 6, 50],
      // booked: D1 D9 of the 6
      appointmentRate: [2, 6, 33.3],
      // answered promises: D1 (kept), D2 (F3 broken, F4 kept: not kept), D5 (kept) = 3; D3 D9 D10 none
      promisesKept: [2, 3, 66.7],
      // contact data checked: F1 F2 F3 F4 F18 = 5; right: F1 F2 F4
      dataAccuracy: [3, 5, 60],
      // survey answers: F2 4, F4 3, F6 1 (by SMS, the call missed) = 3; 4 or 5: F2. F1's and F3's are day-2 call scores: out
      csat: [1, 3, 33.3],
      // survey answers: F2 9 promoter, F4 7 passive: (1 - 0) / 2
      nps: [1, 2, 50],
    });
  });

  it('returns the CSAT mean and the NPS breakdown', async () => {
    const res = await get(`/v1/kpis?storeId=sh-a&${MARCH}`);
    const byKey = Object.fromEntries((res.body.kpis as Kpi[]).map((k) => [k.key, k]));
    expect(byKey.csat.mean).toBe(2.67); // (4 + 3 + 1) / 3
    expect(byKey.nps).toMatchObject({ score: 50, responses: 2, promoters: 1, passives: 1, detractors: 0 });
    expect(byKey.timeliness.label).toEqual({ zh: '跟踪及时率', en: 'Follow-up timeliness' });
    expect(byKey.appointmentRate.label).toMatchObject({ zh: '交车预约率' });
    expect(byKey.dataAccuracy.label).toMatchObject({ zh: '基盘信息准确率' });
    expect(res.body.period).toEqual({ from: '2026-02-28T16:00:00.000Z', to: '2026-03-31T16:00:00.000Z', timeZone: 'Asia/Shanghai' });
  });

  it('reads the same period from ISO instants', async () => {
    expect(await kpis('storeId=sh-a&from=2026-02-28T16:00:00Z&to=2026-03-31T16:00:00Z')).toEqual(await kpis(`storeId=sh-a&${MARCH}`));
  });

  it('adds every store up for a group-level key', async () => {
    expect(await kpis(MARCH)).toEqual({
      // store B: completed F20 F22, both satisfied; A 4/6 -> 6/8
      satisfaction: [6, 8, 75],
      // B: due F20 F21 F22 = 3, recorded F20 F22 = 2; A 7/13 -> 9/16 = 56.25%
      recordingCompletion: [9, 16, 56.3],
      // B on time F20 F22 of 3; A 3/11 -> 5/14 = 35.71%
      timeliness: [5, 14, 35.7],
      // B none of 3; A 2/13 -> 2/16
      recordedLate: [2, 16, 12.5],
      // B: D6 (F22 satisfied), D8 (never surveyed) -> 1/2; A 3/6 -> 4/8
      deliverySatisfaction: [4, 8, 50],
      // B: D6 booked of D6 D8; A 2/6 -> 3/8
      appointmentRate: [3, 8, 37.5],
      // B: D6 kept -> 1/1; A 2/3 -> 3/4
      promisesKept: [3, 4, 75],
      // B: F20 right, F22 wrong; A 3/5 -> 4/7 = 57.14%
      dataAccuracy: [4, 7, 57.1],
      // B: the survey F22 4 (F20's 5 came on another call); A 1/3 -> 2/4
      csat: [2, 4, 50],
      // B: F22 5 detractor; promoters 1, detractors 1, responses 3: (1 - 1) / 3
      nps: [0, 3, 0],
    });
  });

  it('filters follow-ups by assignee and deliveries by consultant', async () => {
    expect(await kpis(`storeId=sh-a&staffId=${ids.alice}&${MARCH}`)).toEqual({
      // alice's due: F1 F3 F5 F7 F8 F17 = 6 (F10 cancelled, F12 at `to`); completed F1 F3 F8, satisfied F1 F8
      satisfaction: [2, 3, 66.7],
      // recorded: F1 F3 F5 F8
      recordingCompletion: [4, 6, 66.7],
      // on time: F1 F8 of the 5 not recorded late
      timeliness: [2, 5, 40],
      recordedLate: [1, 6, 16.7],
      // alice sold D1 D2 D3 D9 in March (D4 in February); satisfied survey: D1 D9
      deliverySatisfaction: [2, 4, 50],
      // booked: D1 D9
      appointmentRate: [2, 4, 50],
      // answered: D1 kept, D2 broken
      promisesKept: [1, 2, 50],
      // checked: F1 right, F3 wrong
      dataAccuracy: [1, 2, 50],
      // her own scores are day-2 call answers (F1 5, F3 2), not survey answers: nothing to count
      csat: [0, 0, null],
      nps: [0, 0, null],
    });
  });

  it('a day-2 CSAT stays out of the CSAT KPI and out of the consultant\'s own score', async () => {
    const f1 = await db.followUp.findUniqueOrThrow({ where: { id: ids.F1 } });
    expect([f1.csat, f1.survey]).toEqual([5, false]);
    const { items } = await allPages('csat', `storeId=sh-a&${MARCH}`, 100);
    expect(items.map((r) => name(r.followUpId))).toEqual(['F2', 'F4', 'F6']);
    const own = await get(`/v1/kpis?storeId=sh-a&staffId=${ids.alice}&${MARCH}`);
    expect((own.body.kpis as Kpi[]).find((k) => k.key === 'csat')).toMatchObject({ numerator: 0, denominator: 0, rate: null, mean: null });
  });

  it('counts a survey answered by SMS, whatever became of the call', async () => {
    const { items } = await allPages('csat', `storeId=sh-a&${MARCH}`, 100);
    expect(items.find((r) => r.followUpId === ids.F6)).toMatchObject({ status: 'missed', survey: true, csat: 1, answerChannel: 'sms', inNumerator: false });
  });

  it('gives null rates, not zeros, for a period with nothing in it', async () => {
    const all = await kpis('storeId=sh-a&from=2025-01-01&to=2025-02-01');
    for (const [numerator, denominator, rate] of Object.values(all)) expect([numerator, denominator, rate]).toEqual([0, 0, null]);
  });

  it('defaults to the current month in the store\'s time zone', async () => {
    const res = await get('/v1/kpis?storeId=xj-b');
    const month = DateTime.now().setZone('Asia/Urumqi').startOf('month');
    expect(res.body.period).toEqual({ from: month.toUTC().toISO(), to: month.plus({ months: 1 }).toUTC().toISO(), timeZone: 'Asia/Urumqi' });
  });

  it('names the parameter at fault', async () => {
    const cases: [string, string][] = [
      ['storeId=sh-a&from=2026-02-30&to=2026-04-01', 'querystring.from'],
      ['storeId=sh-a&from=last-week&to=2026-04-01', 'querystring.from'],
      ['storeId=sh-a&from=2026-04-01&to=2026-03-01', 'querystring.from'],
      ['storeId=sh-a&from=2026-03-01', 'querystring.to'],
      ['storeId=sh-a&from=2025-01-01&to=2026-03-01', 'querystring.to'],
      ['storeId=nowhere', 'querystring.storeId'],
      ['storeId=sh-a&staffId=not-a-uuid', 'querystring.staffId'],
      [`storeId=sh-a&staffId=${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, 'querystring.staffId'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`/v1/kpis?${query}`);
      expect([query, res.status, res.body.issues?.[0]?.field]).toEqual([query, 400, field]);
    }
  });
});

describe('store scope', () => {
  it('keeps a store-scoped key out of another store: 403', async () => {
    for (const url of [`/v1/kpis?storeId=sh-a&${MARCH}`, `/v1/kpis/timeliness/rows?storeId=sh-a&${MARCH}`, `/v1/kpis/ranking?metric=timeliness&storeId=sh-a&${MARCH}`]) {
      const res = await get(url, storeBKey);
      expect([url, res.status, res.body.error]).toEqual([url, 403, 'Forbidden']);
    }
  });

  it('reads only its own store without storeId, dates in that store\'s zone', async () => {
    const res = await get(`/v1/kpis?${MARCH}`, storeBKey);
    expect(res.body.storeId).toBe('xj-b');
    // Urumqi is UTC+6
    expect(res.body.period).toMatchObject({ from: '2026-02-28T18:00:00.000Z', to: '2026-03-31T18:00:00.000Z', timeZone: 'Asia/Urumqi' });
    const byKey = Object.fromEntries((res.body.kpis as Kpi[]).map((k) => [k.key, [k.numerator, k.denominator, k.rate]]));
    // store B alone, as worked out in the group-level test
    expect(byKey).toEqual({
      satisfaction: [2, 2, 100], recordingCompletion: [2, 3, 66.7], timeliness: [2, 3, 66.7], recordedLate: [0, 3, 0],
      deliverySatisfaction: [1, 2, 50], appointmentRate: [1, 2, 50], promisesKept: [1, 1, 100], dataAccuracy: [1, 2, 50],
      csat: [1, 1, 100], nps: [-1, 1, -100],
    });
  });

  it('does not find another store\'s staff member through a store-scoped key', async () => {
    const res = await get(`/v1/kpis?staffId=${ids.alice}&${MARCH}`, storeBKey);
    expect([res.status, res.body.issues?.[0]?.field]).toEqual([400, 'querystring.staffId']);
  });
});

describe('GET /v1/kpis/ranking', () => {
  type Ranked = { rank: number; staffId: string; name: string; numerator: number; denominator: number; rate: number };
  async function ranking(query: string) {
    const res = await get(`/v1/kpis/ranking?${query}`);
    expect(res.status).toBe(200);
    return (res.body.ranking as Ranked[]).map((r) => [r.rank, r.name, r.numerator, r.denominator, r.rate]);
  }

  it('ranks timeliness best first across the group', async () => {
    expect(await ranking(`metric=timeliness&${MARCH}`)).toEqual([
      [1, 'dave', 2, 3, 66.7], // F20 F22 of F20 F21 F22
      [2, 'alice', 2, 5, 40], // F1 F8 of F1 F3 F5 F7 F8 (F17 recorded late)
      [3, 'carol', 1, 3, 33.3], // F2 of F2 F4 F6 (F18 recorded late)
      [4, 'bob', 0, 1, 0], // F19 missed (F23 cancelled)
      [4, 'erin', 0, 1, 0], // F14 still open; F13 is nobody's
    ]);
  });

  it('gives equal rates one rank and skips the next', async () => {
    expect(await ranking(`metric=recordingCompletion&${MARCH}`)).toEqual([
      [1, 'carol', 3, 4, 75], // F2 F4 F18 of F2 F4 F6 F18
      [2, 'alice', 4, 6, 66.7], // F1 F3 F5 F8 of F1 F3 F5 F7 F8 F17: exactly 2/3, a tie with dave, more calls first
      [2, 'dave', 2, 3, 66.7], // F20 F22 of F20 F21 F22
      [4, 'bob', 0, 1, 0],
      [4, 'erin', 0, 1, 0],
    ]);
  });

  it('leaves out staff with nothing in the denominator', async () => {
    expect(await ranking(`metric=satisfaction&${MARCH}`)).toEqual([
      [1, 'dave', 2, 2, 100],
      [2, 'alice', 2, 3, 66.7], // F1 F8 of completed F1 F3 F8
      [2, 'carol', 2, 3, 66.7], // F2 F18 of completed F2 F4 F18
      // bob and erin completed nothing
    ]);
  });

  it('ranks base data accuracy by assignee and the appointment rate by consultant', async () => {
    expect(await ranking(`metric=dataAccuracy&${MARCH}`)).toEqual([
      [1, 'carol', 2, 3, 66.7], // F2 F4 right, F18 wrong
      [2, 'alice', 1, 2, 50], // F1 right, F3 wrong
      [2, 'dave', 1, 2, 50], // F20 right, F22 wrong
    ]);
    expect(await ranking(`metric=appointmentRate&${MARCH}`)).toEqual([
      [1, 'alice', 2, 4, 50], // D1 D9 booked of D1 D2 D3 D9
      [1, 'dave', 1, 2, 50], // D6 of D6 D8
      [3, 'bob', 0, 2, 0], // D5 D10
    ]);
  });

  it('ranks within one store', async () => {
    const res = await get(`/v1/kpis/ranking?metric=timeliness&storeId=sh-a&${MARCH}`);
    expect(res.body.ranking.map((r: Ranked) => [r.rank, r.staffId])).toEqual([[1, ids.alice], [2, ids.carol], [3, ids.bob], [3, ids.erin]]);
    expect(res.body).toMatchObject({ metric: 'timeliness', storeId: 'sh-a', label: { zh: '跟踪及时率' } });
  });

  it('ranks only per-person rates', async () => {
    for (const metric of ['nps', 'recordedLate']) {
      const res = await get(`/v1/kpis/ranking?metric=${metric}&${MARCH}`);
      expect([metric, res.status, res.body.issues?.[0]?.field]).toEqual([metric, 400, 'querystring.metric']);
    }
  });
});

describe('GET /v1/kpis/:key/rows', () => {
  it('pages through the 11 follow-ups of the timeliness denominator, oldest due first, flagging the on-time ones', async () => {
    const { pages, items } = await allPages('timeliness', `storeId=sh-a&${MARCH}`, 4);
    expect(pages).toEqual([4, 4, 3]);
    expect(items.map((r) => [name(r.followUpId), r.inNumerator])).toEqual([
      ['F8', true], ['F1', true], ['F3', false], ['F2', true], ['F4', false],
      ['F5', false], ['F19', false], ['F14', false], ['F6', false], ['F13', false], ['F7', false],
    ]);
    expect(items[0]).toMatchObject({
      deliveryId: ids.D4, storeId: 'sh-a', assigneeId: ids.alice, dueEnd: '2026-02-28T16:00:00.000Z', status: 'done_on_time', subtracted: false,
      recordedLate: false, answerChannel: 'phone',
    });
  });

  it('ending ownership keeps missed calls in the denominator', async () => {
    // D10's ownership ended on 03-16: F19 (window closed 03-14) stays missed and counts, F23 (due 03-19) was cancelled and does not.
    for (const key of ['timeliness', 'recordingCompletion', 'recordedLate']) {
      const { items } = await allPages(key, `storeId=sh-a&${MARCH}`, 500);
      expect([key, items.filter((r) => r.deliveryId === ids.D10).map((r) => [name(r.followUpId), r.status, r.inNumerator])])
        .toEqual([key, [['F19', 'missed', false]]]);
    }
  });

  it('recorded-late calls are counted apart', async () => {
    const timeliness = await allPages('timeliness', `storeId=sh-a&${MARCH}`, 500);
    expect(timeliness.items.filter((r) => r.recordedLate)).toEqual([]);
    const { items } = await allPages('recordedLate', `storeId=sh-a&${MARCH}`, 500);
    expect(items).toHaveLength(13);
    expect(items.filter((r) => r.inNumerator).map((r) => [name(r.followUpId), r.status, r.recordedLate])).toEqual([
      ['F17', 'missed', true], ['F18', 'done_late', true],
    ]);
  });

  it('lists NPS responses with promoters in the numerator and detractors subtracted', async () => {
    const { items } = await allPages('nps', `storeId=sh-a&${MARCH}`, 500);
    expect(items.map((r) => [name(r.followUpId), r.nps, r.inNumerator, r.subtracted])).toEqual([['F2', 9, true, false], ['F4', 7, false, false]]);
    const b = await allPages('nps', `storeId=xj-b&${MARCH}`, 500);
    expect(b.items.map((r) => [name(r.followUpId), r.nps, r.inNumerator, r.subtracted])).toEqual([['F22', 5, false, true]]);
  });

  it('lists the deliveries behind delivery satisfaction, never-surveyed ones included', async () => {
    const { pages, items } = await allPages('deliverySatisfaction', `storeId=sh-a&${MARCH}`, 3);
    expect(pages).toEqual([3, 3]);
    expect(items.map((r) => [name(r.deliveryId), r.consultantId, r.inNumerator])).toEqual([
      ['D1', ids.alice, true], ['D2', ids.alice, false], ['D3', ids.alice, false], ['D10', ids.bob, false], ['D9', ids.alice, true], ['D5', ids.bob, true],
    ]);
    expect(items[5]).toMatchObject({ storeId: 'sh-a', deliveredAt: '2026-03-31T15:30:00.000Z', status: 'active' });
    expect(items[3]).toMatchObject({ status: 'ended' });
  });

  it('lists every delivery behind the appointment rate, the booked ones in the numerator', async () => {
    const { items } = await allPages('appointmentRate', `storeId=sh-a&${MARCH}`, 100);
    expect(items.map((r) => [name(r.deliveryId), r.byAppointment, r.inNumerator])).toEqual([
      ['D1', true, true], ['D2', false, false], ['D3', false, false], ['D10', false, false], ['D9', true, true], ['D5', false, false],
    ]);
  });

  it('lists the follow-ups that checked contact data behind base data accuracy', async () => {
    const { items } = await allPages('dataAccuracy', `storeId=sh-a&${MARCH}`, 100);
    expect(items.map((r) => [name(r.followUpId), r.contactDataCorrect, r.inNumerator])).toEqual([
      ['F1', true, true], ['F3', false, false], ['F2', true, true], ['F4', true, true], ['F18', false, false],
    ]);
  });

  it('lists the deliveries whose promises were asked about', async () => {
    const { items } = await allPages('promisesKept', `storeId=sh-a&${MARCH}`, 100);
    expect(items.map((r) => [name(r.deliveryId), r.inNumerator])).toEqual([['D1', true], ['D2', false], ['D5', true]]);
  });

  it('applies the staff filter', async () => {
    const { items } = await allPages('recordingCompletion', `storeId=sh-a&staffId=${ids.alice}&${MARCH}`, 100);
    expect(items.map((r) => [name(r.followUpId), r.inNumerator])).toEqual([['F8', true], ['F1', true], ['F3', true], ['F5', true], ['F7', false], ['F17', false]]);
  });

  it('rejects a forged cursor, an unknown KPI and a page over 500', async () => {
    const forged = await get(`/v1/kpis/timeliness/rows?storeId=sh-a&${MARCH}&cursor=bm9wZQ`);
    expect([forged.status, forged.body.issues?.[0]?.field]).toEqual([400, 'querystring.cursor']);
    const unknown = await get(`/v1/kpis/happiness/rows?${MARCH}`);
    expect([unknown.status, unknown.body.issues?.[0]?.field]).toEqual([400, 'params.key']);
    const tooMany = await get(`/v1/kpis/timeliness/rows?${MARCH}&limit=501`);
    expect([tooMany.status, tooMany.body.issues?.[0]?.field]).toEqual([400, 'querystring.limit']);
  });
});

/*
 * The present, in store C (sz-c, Shanghai), relative to now; the period is the 24 hours either side.
 *   C1 frank  dueEnd now - 2 h  done_on_time
 *   C2 frank  dueEnd now - 1 h  missed
 *   C3 frank  dueEnd now + 5 h  open          (inside its window: not late yet)
 *   C4 frank  dueEnd now + 6 h  done_on_time  (inside its window: counts once it closes)
 */
describe('calls still inside their window don\'t count yet', () => {
  const hour = 3600_000;
  let query: string;

  beforeAll(async () => {
    const now = Date.now();
    await createStore(db, { id: 'sz-c', name: 'Store C', timeZone: 'Asia/Shanghai', serviceHotline: '400-800-1234' }, 'test');
    await seedStaff('sz-c', 'frank', 'consultant');
    await seedDelivery('DC', 'sz-c', 'frank', new Date(now - 3 * 24 * hour).toISOString());
    const at = (hours: number) => new Date(now + hours * hour).toISOString();
    await seedFollowUp('C1', { delivery: 'DC', assignee: 'frank', dueEnd: at(-2), status: 'done_on_time', satisfied: true });
    await seedFollowUp('C2', { delivery: 'DC', assignee: 'frank', dueEnd: at(-1), status: 'missed' });
    await seedFollowUp('C3', { delivery: 'DC', assignee: 'frank', dueEnd: at(5), status: 'open' });
    await seedFollowUp('C4', { delivery: 'DC', assignee: 'frank', dueEnd: at(6), status: 'done_on_time', satisfied: true });
    query = `storeId=sz-c&from=${at(-24)}&to=${at(24)}`;
  });

  it('timeliness counts only the calls whose required window has closed', async () => {
    const all = await kpis(query);
    expect(all.timeliness).toEqual([1, 2, 50]); // C1 on time of C1 C2
    expect(all.recordedLate).toEqual([0, 2, 0]);
    // the other follow-up KPIs count what was done, window closed or not
    expect(all.recordingCompletion).toEqual([2, 4, 50]);
    const { items } = await allPages('timeliness', query, 100);
    expect(items.map((r) => [name(r.followUpId), r.status, r.inNumerator])).toEqual([['C1', 'done_on_time', true], ['C2', 'missed', false]]);
  });

  it('and so does the ranking', async () => {
    const res = await get(`/v1/kpis/ranking?metric=timeliness&${query}`);
    expect(res.body.ranking.map((r: { name: string; numerator: number; denominator: number }) => [r.name, r.numerator, r.denominator])).toEqual([['frank', 1, 2]]);
  });
});
