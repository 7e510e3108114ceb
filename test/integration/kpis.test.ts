import type { Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import { buildServer } from '../../src/api/server';
import { createApiKey, createStore } from '../../src/api/routes/stores';
import { parseConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import type { FollowUpStatus } from '../../src/domain/outcome';
import { createTestDatabase } from '../helpers/db';

/*
 * A known March 2026 for two stores, with every KPI's numerator and denominator worked out by
 * hand below. Store A (sh-a) keeps Shanghai time (UTC+8): its March is
 * [2026-02-28T16:00Z, 2026-03-31T16:00Z). Store B (xj-b) keeps Urumqi time (UTC+6).
 *
 * Deliveries                      consultant  in A's March?
 *   D1 A 03-02 10:00 +08          alice       yes
 *   D2 A 03-05 10:00 +08          alice       yes
 *   D3 A 03-10 10:00 +08          alice       yes
 *   D4 A 02-20 10:00 +08          alice       no (February)
 *   D5 A 03-31 23:30 +08          bob         yes (still March in Shanghai)
 *   D7 A 04-01 00:30 +08          bob         no (April in Shanghai, though still March 31 in UTC)
 *   D6 B 03-03 10:00 +06          dave        yes
 *   D8 B 03-15 10:00 +06          dave        yes (no follow-up at all: never surveyed)
 *
 * Follow-ups (calls unless said)  assignee  survey  dueEnd (local)   status        sat   csat nps promises
 *   F1  D1                        alice             03-04 18:00      done_on_time  yes   5    10  kept
 *   F2  D1                        carol     yes     03-09 18:00      done_on_time  yes   4    9
 *   F3  D2                        alice             03-07 18:00      done_late     no    2    6   broken
 *   F4  D2                        carol     yes     03-12 18:00      done_late     no    3    7   kept
 *   F5  D3                        alice             03-12 20:00      failed (2 unreached attempts)
 *   F6  D3                        carol     yes     03-17 18:00      missed
 *   F7  D3                        alice             03-20 18:00      open (overdue since March)
 *   F8  D4                        alice             03-01 00:00      done_on_time  yes   -    8   kept   (exactly at `from`: in)
 *   F9  D4                        carol     yes     02-27 18:00      done_on_time  yes   5    10         (February: out)
 *   F10 D2                        alice             03-25 18:00      cancelled                          (never counts)
 *   F11 D1 message                (system)          03-05 18:00      done_on_time  yes   1    0          (not a call: out)
 *   F12 D3                        alice             04-01 00:00      done_on_time  yes   5    10         (exactly at `to`: out)
 *   F13 D2                        (nobody)          03-18 18:00      missed                             (unassigned: counts, ranks nobody)
 *   F14 D1                        erin              03-15 18:00      open
 *   F15 D5                        carol     yes     04-07 18:00      done_on_time  yes   5    9   kept   (April: out of follow-up KPIs)
 *   F16 D7                        carol     yes     04-08 18:00      done_on_time  yes
 *   F20 D6                        dave              03-05 12:00 +06  done_on_time  yes   5    10  kept
 *   F21 D6                        dave              03-06 12:00 +06  missed
 *   F22 D6                        dave      yes     03-10 12:00 +06  done_on_time  yes   4    5
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

async function seedDelivery(name: Name, storeId: string, consultant: Name, deliveredAt: string) {
  const customer = await db.customer.create({ data: { storeId, externalId: `c-${name}`, name: `customer ${name}`, phone: '+8613800138000' } });
  const vehicle = await db.vehicle.create({ data: { storeId, vin: `LSVAU2180N21${name.padStart(5, '0')}`, model: 'Lavida' } });
  const d = await db.delivery.create({
    data: { storeId, vehicleId: vehicle.id, customerId: customer.id, consultantId: ids[consultant], deliveredAt: new Date(deliveredAt), workflowId: `wf-${name}` },
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
      satisfied: f.satisfied, csat: f.csat, nps: f.nps, promisesKept: f.promisesKept,
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

  await seedDelivery('D1', 'sh-a', 'alice', '2026-03-02T10:00:00+08:00');
  await seedDelivery('D2', 'sh-a', 'alice', '2026-03-05T10:00:00+08:00');
  await seedDelivery('D3', 'sh-a', 'alice', '2026-03-10T10:00:00+08:00');
  await seedDelivery('D4', 'sh-a', 'alice', '2026-02-20T10:00:00+08:00');
  await seedDelivery('D5', 'sh-a', 'bob', '2026-03-31T23:30:00+08:00');
  await seedDelivery('D7', 'sh-a', 'bob', '2026-04-01T00:30:00+08:00');
  await seedDelivery('D6', 'xj-b', 'dave', '2026-03-03T10:00:00+06:00');
  await seedDelivery('D8', 'xj-b', 'dave', '2026-03-15T10:00:00+06:00');

  const yes = { satisfied: true };
  await seedFollowUp('F1', { delivery: 'D1', assignee: 'alice', dueEnd: '2026-03-04T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, promisesKept: true });
  await seedFollowUp('F2', { delivery: 'D1', assignee: 'carol', survey: true, dueEnd: '2026-03-09T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 4, nps: 9 });
  await seedFollowUp('F3', { delivery: 'D2', assignee: 'alice', dueEnd: '2026-03-07T18:00:00+08:00', status: 'done_late', satisfied: false, csat: 2, nps: 6, promisesKept: false });
  await seedFollowUp('F4', { delivery: 'D2', assignee: 'carol', survey: true, dueEnd: '2026-03-12T18:00:00+08:00', status: 'done_late', satisfied: false, csat: 3, nps: 7, promisesKept: true });
  await seedFollowUp('F5', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-03-12T20:00:00+08:00', status: 'failed', attempts: 2 });
  await seedFollowUp('F6', { delivery: 'D3', assignee: 'carol', survey: true, dueEnd: '2026-03-17T18:00:00+08:00', status: 'missed' });
  await seedFollowUp('F7', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-03-20T18:00:00+08:00', status: 'open' });
  await seedFollowUp('F8', { delivery: 'D4', assignee: 'alice', dueEnd: '2026-03-01T00:00:00+08:00', status: 'done_on_time', ...yes, nps: 8, promisesKept: true });
  await seedFollowUp('F9', { delivery: 'D4', assignee: 'carol', survey: true, dueEnd: '2026-02-27T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10 });
  await seedFollowUp('F10', { delivery: 'D2', assignee: 'alice', dueEnd: '2026-03-25T18:00:00+08:00', status: 'cancelled' });
  await seedFollowUp('F11', { delivery: 'D1', kind: 'message', dueEnd: '2026-03-05T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 1, nps: 0 });
  await seedFollowUp('F12', { delivery: 'D3', assignee: 'alice', dueEnd: '2026-04-01T00:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 10 });
  await seedFollowUp('F13', { delivery: 'D2', dueEnd: '2026-03-18T18:00:00+08:00', status: 'missed' });
  await seedFollowUp('F14', { delivery: 'D1', assignee: 'erin', dueEnd: '2026-03-15T18:00:00+08:00', status: 'open' });
  await seedFollowUp('F15', { delivery: 'D5', assignee: 'carol', survey: true, dueEnd: '2026-04-07T18:00:00+08:00', status: 'done_on_time', ...yes, csat: 5, nps: 9, promisesKept: true });
  await seedFollowUp('F16', { delivery: 'D7', assignee: 'carol', survey: true, dueEnd: '2026-04-08T18:00:00+08:00', status: 'done_on_time', ...yes });
  await seedFollowUp('F20', { delivery: 'D6', assignee: 'dave', dueEnd: '2026-03-05T12:00:00+06:00', status: 'done_on_time', ...yes, csat: 5, nps: 10, promisesKept: true });
  await seedFollowUp('F21', { delivery: 'D6', assignee: 'dave', dueEnd: '2026-03-06T12:00:00+06:00', status: 'missed' });
  await seedFollowUp('F22', { delivery: 'D6', assignee: 'dave', survey: true, dueEnd: '2026-03-10T12:00:00+06:00', status: 'done_on_time', ...yes, csat: 4, nps: 5 });

  app = await buildServer({ config: parseConfig({ LOG_LEVEL: 'silent' }), db, temporal: {} as Client });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await env?.drop();
});

async function get(url: string, key = adminKey) {
  const res = await fetch(`${baseUrl}${url}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any };
}

type Kpi = { key: string; numerator: number; denominator: number; rate: number | null; [extra: string]: unknown };

/** key -> [numerator, denominator, rate] */
async function kpis(query: string, key = adminKey): Promise<Record<string, [number, number, number | null]>> {
  const res = await get(`/v1/kpis?${query}`, key);
  expect(res.status).toBe(200);
  return Object.fromEntries((res.body.kpis as Kpi[]).map((k) => [k.key, [k.numerator, k.denominator, k.rate]]));
}

describe('GET /v1/kpis', () => {
  it('counts store A\'s March by hand, every due follow-up in the denominator, including those never done', async () => {
    expect(await kpis(`storeId=sh-a&${MARCH}`)).toEqual({
      // completed: F1 F2 F3 F4 F8 = 5; satisfied among them: F1 F2 F8 = 3
      satisfaction: [3, 5, 60],
      // due: F1 F2 F3 F4 F5 F6 F7 F8 F13 F14 = 10 (missed F6 F13, open F7 F14 included; F9 F10 F11 F12 out)
      // recorded: the 5 completed + failed F5 = 6
      recordingCompletion: [6, 10, 60],
      // on time: F1 F2 F8 = 3 of the 10 due
      timeliness: [3, 10, 30],
      // deliveries: D1 D2 D3 D5 = 4 (D4 February, D7 April); survey satisfied: D1 (F2), D5 (F15, due in April) = 2
      // D2's survey was dissatisfied, D3's never done: both in the denominator only
      deliverySatisfaction: [2, 4, 50],
      // answered promises: D1 (kept), D2 (F3 broken, F4 kept: not kept), D5 (kept) = 3; D3 none
      promisesKept: [2, 3, 66.7],
      // csat answers: F1 5, F2 4, F3 2, F4 3 = 4 (F8 none); 4 or 5: F1 F2 = 2
      csat: [2, 4, 50],
      // nps answers: F1 10, F2 9, F3 6, F4 7, F8 8 = 5; promoters F1 F2, detractor F3: (2 - 1) / 5 = 20%
      nps: [1, 5, 20],
    });
  });

  it('returns the CSAT mean and the NPS breakdown', async () => {
    const res = await get(`/v1/kpis?storeId=sh-a&${MARCH}`);
    const byKey = Object.fromEntries((res.body.kpis as Kpi[]).map((k) => [k.key, k]));
    expect(byKey.csat.mean).toBe(3.5); // (5 + 4 + 2 + 3) / 4
    expect(byKey.nps).toMatchObject({ score: 20, responses: 5, promoters: 2, passives: 2, detractors: 1 });
    expect(byKey.timeliness.label).toEqual({ zh: '跟踪及时率', en: 'Follow-up timeliness' });
    expect(res.body.period).toEqual({ from: '2026-02-28T16:00:00.000Z', to: '2026-03-31T16:00:00.000Z', timeZone: 'Asia/Shanghai' });
  });

  it('reads the same period from ISO instants', async () => {
    expect(await kpis('storeId=sh-a&from=2026-02-28T16:00:00Z&to=2026-03-31T16:00:00Z')).toEqual(await kpis(`storeId=sh-a&${MARCH}`));
  });

  it('adds every store up for a group-level key', async () => {
    expect(await kpis(MARCH)).toEqual({
      // store B: completed F20 F22, both satisfied; A 3/5 -> 5/7 = 71.43%
      satisfaction: [5, 7, 71.4],
      // B: due F20 F21 F22 = 3, recorded F20 F22 = 2; A 6/10 -> 8/13 = 61.54%
      recordingCompletion: [8, 13, 61.5],
      // B on time F20 F22 = 2; A 3/10 -> 5/13 = 38.46%
      timeliness: [5, 13, 38.5],
      // B: D6 (F22 satisfied), D8 (never surveyed) -> 1/2; A 2/4 -> 3/6
      deliverySatisfaction: [3, 6, 50],
      // B: D6 kept -> 1/1; A 2/3 -> 3/4
      promisesKept: [3, 4, 75],
      // B: F20 5, F22 4 -> 2/2; A 2/4 -> 4/6 = 66.67%
      csat: [4, 6, 66.7],
      // B: F20 10 promoter, F22 5 detractor; promoters 2 + 1, detractors 1 + 1, responses 5 + 2: (3 - 2) / 7 = 14.29%
      nps: [1, 7, 14.3],
    });
  });

  it('filters follow-ups by assignee and deliveries by consultant', async () => {
    expect(await kpis(`storeId=sh-a&staffId=${ids.alice}&${MARCH}`)).toEqual({
      // alice's due: F1 F3 F5 F7 F8 = 5 (F10 cancelled, F12 at `to`); completed F1 F3 F8, satisfied F1 F8
      satisfaction: [2, 3, 66.7],
      // recorded: F1 F3 F5 F8
      recordingCompletion: [4, 5, 80],
      // on time: F1 F8
      timeliness: [2, 5, 40],
      // alice sold D1 D2 D3 in March (D4 in February); satisfied survey: D1
      deliverySatisfaction: [1, 3, 33.3],
      // answered: D1 kept, D2 broken
      promisesKept: [1, 2, 50],
      // csat: F1 5, F3 2
      csat: [1, 2, 50],
      // nps: F1 10 promoter, F3 6 detractor, F8 8 passive: (1 - 1) / 3
      nps: [0, 3, 0],
    });
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
      satisfaction: [2, 2, 100], recordingCompletion: [2, 3, 66.7], timeliness: [2, 3, 66.7], deliverySatisfaction: [1, 2, 50],
      promisesKept: [1, 1, 100], csat: [2, 2, 100], nps: [0, 2, 0],
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
      [2, 'alice', 2, 5, 40], // F1 F8 of F1 F3 F5 F7 F8
      [3, 'carol', 1, 3, 33.3], // F2 of F2 F4 F6
      [4, 'erin', 0, 1, 0], // F14 still open; bob has no follow-ups and F13 nobody's: both left out
    ]);
  });

  it('gives equal rates one rank and skips the next', async () => {
    expect(await ranking(`metric=recordingCompletion&${MARCH}`)).toEqual([
      [1, 'alice', 4, 5, 80], // F1 F3 F5 F8
      [2, 'carol', 2, 3, 66.7], // F2 F4 of F2 F4 F6
      [2, 'dave', 2, 3, 66.7], // F20 F22 of F20 F21 F22: a tie, ordered by name
      [4, 'erin', 0, 1, 0],
    ]);
  });

  it('leaves out staff with nothing in the denominator', async () => {
    expect(await ranking(`metric=satisfaction&${MARCH}`)).toEqual([
      [1, 'dave', 2, 2, 100],
      [2, 'alice', 2, 3, 66.7], // F1 F8 of completed F1 F3 F8
      [3, 'carol', 1, 2, 50], // F2 of completed F2 F4
      // erin completed nothing
    ]);
  });

  it('ranks within one store', async () => {
    const res = await get(`/v1/kpis/ranking?metric=timeliness&storeId=sh-a&${MARCH}`);
    expect(res.body.ranking.map((r: Ranked) => [r.rank, r.staffId])).toEqual([[1, ids.alice], [2, ids.carol], [3, ids.erin]]);
    expect(res.body).toMatchObject({ metric: 'timeliness', storeId: 'sh-a', label: { zh: '跟踪及时率' } });
  });

  it('ranks only the three follow-up rates', async () => {
    const res = await get(`/v1/kpis/ranking?metric=nps&${MARCH}`);
    expect([res.status, res.body.issues?.[0]?.field]).toEqual([400, 'querystring.metric']);
  });
});

describe('GET /v1/kpis/:key/rows', () => {
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

  it('pages through the 10 follow-ups of the timeliness denominator, oldest due first, flagging the on-time ones', async () => {
    const { pages, items } = await allPages('timeliness', `storeId=sh-a&${MARCH}`, 4);
    expect(pages).toEqual([4, 4, 2]);
    expect(items.map((r) => [name(r.followUpId), r.inNumerator])).toEqual([
      ['F8', true], ['F1', true], ['F3', false], ['F2', true], ['F4', false],
      ['F5', false], ['F14', false], ['F6', false], ['F13', false], ['F7', false],
    ]);
    expect(items[0]).toMatchObject({
      deliveryId: ids.D4, storeId: 'sh-a', assigneeId: ids.alice, dueEnd: '2026-02-28T16:00:00.000Z', status: 'done_on_time', subtracted: false,
    });
  });

  it('lists NPS responses with promoters in the numerator and detractors subtracted', async () => {
    const { items } = await allPages('nps', `storeId=sh-a&${MARCH}`, 500);
    expect(items.map((r) => [name(r.followUpId), r.nps, r.inNumerator, r.subtracted])).toEqual([
      ['F8', 8, false, false], ['F1', 10, true, false], ['F3', 6, false, true], ['F2', 9, true, false], ['F4', 7, false, false],
    ]);
  });

  it('lists the deliveries behind delivery satisfaction, never-surveyed ones included', async () => {
    const { pages, items } = await allPages('deliverySatisfaction', `storeId=sh-a&${MARCH}`, 3);
    expect(pages).toEqual([3, 1]);
    expect(items.map((r) => [name(r.deliveryId), r.consultantId, r.inNumerator])).toEqual([
      ['D1', ids.alice, true], ['D2', ids.alice, false], ['D3', ids.alice, false], ['D5', ids.bob, true],
    ]);
    expect(items[3]).toMatchObject({ storeId: 'sh-a', deliveredAt: '2026-03-31T15:30:00.000Z', status: 'active' });
  });

  it('lists the deliveries whose promises were asked about', async () => {
    const { items } = await allPages('promisesKept', `storeId=sh-a&${MARCH}`, 100);
    expect(items.map((r) => [name(r.deliveryId), r.inNumerator])).toEqual([['D1', true], ['D2', false], ['D5', true]]);
  });

  it('applies the staff filter', async () => {
    const { items } = await allPages('recordingCompletion', `storeId=sh-a&staffId=${ids.alice}&${MARCH}`, 100);
    expect(items.map((r) => [name(r.followUpId), r.inNumerator])).toEqual([['F8', true], ['F1', true], ['F3', true], ['F5', true], ['F7', false]]);
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
