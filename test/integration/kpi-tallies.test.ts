import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { Client } from 'pg';
import pino from 'pino';
import { generate } from '../../bench/generate';
import { createFollowUpActivities } from '../../src/activities/follow-ups';
import type { CallRole } from '../../src/services/assignment';
import type { Db } from '../../src/db/client';
import { FOLLOW_UP_KPIS, RANKING_METRICS, isFollowUpKpi } from '../../src/domain/kpi';
import { tallyDays } from '../../src/domain/kpi-days';
import { createKpiQueries, KpiQueries } from '../../src/kpi/queries';
import type { KpiFilter } from '../../src/kpi/sql';
import { reclaimCustomers } from '../../src/services/reclaim';
import { deactivateStaff } from '../../src/services/staff-exit';
import { recordingCaseWorkflows } from '../helpers/case-workflows';
import { createTestDatabase } from '../helpers/db';

/*
 * The KPI tallies (KpiTally, kept by triggers) against two references: the tallies rebuilt from
 * scratch (kpi_tally_scratch) and the KPI counts read row by row from the follow-ups. Follow-ups
 * are written through the product's own paths (the follow-up activities, staff exit, reclaim),
 * over two stores in two time zones, around today (so some windows are still open).
 */

const DAY = 24 * 3600_000;
const quiet = { logger: new DefaultLogger('ERROR') };
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment({}, quiet).run(fn, ...args);

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let queries: KpiQueries;
let activities: ReturnType<typeof createFollowUpActivities>;
const caseWorkflows = recordingCaseWorkflows();
const now = new Date();
const staffOf: Record<string, Record<string, string[]>> = {};
const followUps: { id: string; deliveryId: string; dueEnd: Date; maxAttempts: number; survey: boolean }[] = [];

/** Seeded, so a failure can be replayed. */
let seed = 20261128;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

const STORES = [{ id: 'sh', timeZone: 'Asia/Shanghai' }, { id: 'xj', timeZone: 'Asia/Urumqi' }];
const ROLES: CallRole[] = ['consultant', 'supervisor', 'cr_specialist', 'manager'];

async function seedStores() {
  for (const s of STORES) {
    await db.store.create({ data: { id: s.id, name: s.id, timeZone: s.timeZone, serviceHotline: '+862150000000' } });
    staffOf[s.id] = {};
    for (const role of ROLES) {
      staffOf[s.id][role] = [];
      for (let i = 0; i < (role === 'consultant' ? 3 : 1); i++) {
        const m = await db.staff.create({ data: { storeId: s.id, externalId: `${s.id}-${role}-${i}`, name: `${role} ${i}`, role } });
        staffOf[s.id][role].push(m.id);
      }
    }
  }
}

/** A delivery with its calls opened by the activity, then answered, missed, cancelled or left open. */
async function seedDelivery(n: number) {
  const store = pick(STORES);
  const deliveredAt = new Date(now.getTime() - (5 + random() * 110) * DAY);
  // Some deliveries reach the system late: calls whose window had closed are recorded late.
  const createdAt = random() < 0.15 ? new Date(deliveredAt.getTime() + 9 * DAY) : deliveredAt;
  const customer = await db.customer.create({ data: { storeId: store.id, externalId: `c${n}`, name: `customer ${n}`, phone: '+8613800138000' } });
  const vehicle = await db.vehicle.create({ data: { storeId: store.id, vin: `LSVAU2180N2${String(n).padStart(6, '0')}`, model: 'Lavida' } });
  const delivery = await db.delivery.create({
    data: {
      storeId: store.id, vehicleId: vehicle.id, customerId: customer.id, consultantId: pick(staffOf[store.id].consultant), deliveredAt, createdAt,
      byAppointment: random() < 0.5, workflowId: `wf-${n}`,
    },
  });
  for (const [i, role] of ROLES.entries()) {
    if (random() < 0.2) continue;
    const dueEnd = new Date(deliveredAt.getTime() + (1 + i * 3 + random() * 4) * DAY + Math.floor(random() * 24) * 3600_000);
    const survey = role === 'cr_specialist';
    const maxAttempts = random() < 0.5 ? 1 : 2;
    const { followUpId } = await run(activities.openFollowUp, {
      deliveryId: delivery.id, stepKey: `step-${i}`, role, checklist: [], survey, mandatory: false, maxAttempts,
      dueStart: new Date(dueEnd.getTime() - 2 * DAY).toISOString(), dueEnd: dueEnd.toISOString(),
    });
    followUps.push({ id: followUpId, deliveryId: delivery.id, dueEnd, maxAttempts, survey });
  }
}

async function answer(f: (typeof followUps)[number], attemptNumber = 1) {
  const r = random();
  const completedAt = new Date(Math.min(now.getTime(), f.dueEnd.getTime() + (random() < 0.7 ? -3600_000 : 6 * 3600_000)));
  const reached = r < 0.75;
  const outcome = reached
    ? {
      reached, satisfied: random() < 0.8, ...(random() < 0.7 && { csat: 1 + Math.floor(random() * 5) }), ...(random() < 0.6 && { nps: Math.floor(random() * 11) }),
      ...(random() < 0.6 && { promisesKept: random() < 0.8 }), ...(random() < 0.6 && { contactDataCorrect: random() < 0.8 }),
    }
    : { reached };
  await run(activities.recordOutcome, { followUpId: f.id, outcome, completedAt: completedAt.toISOString(), retryAfterMinutes: 60, attemptNumber });
}

async function writeOutcomes() {
  for (const f of followUps) {
    const r = random();
    if (f.dueEnd > now && r < 0.7) continue;
    if (r < 0.55) {
      await answer(f);
      if (f.maxAttempts === 2 && random() < 0.5) await answer(f, 2).catch(() => undefined); // a closed task refuses a second answer
    } else if (r < 0.75) await run(activities.closeFollowUp, { followUpId: f.id, status: 'missed' });
    else if (r < 0.85) await run(activities.closeFollowUp, { followUpId: f.id, status: 'cancelled' });
    if (f.survey && random() < 0.3) await run(activities.recordSurveyScore, { followUpId: f.id, csat: 1 + Math.floor(random() * 5), channel: 'sms' });
  }
}

/** The maintained tallies and the rebuilt ones, without rows that net to zero. */
async function tallyTables() {
  const rows = async (from: string) => (await db.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM ${from} ORDER BY 1, 2, 3`))
    .filter((r) => Object.entries(r).some(([k, v]) => !['storeId', 'staffId', 'day'].includes(k) && v !== 0))
    .map((r) => JSON.stringify(r));
  return { maintained: await rows('"KpiTally"'), scratch: await rows('kpi_tally_scratch(NULL)') };
}

async function expectTalliesExact() {
  const { maintained, scratch } = await tallyTables();
  expect(scratch.length).toBeGreaterThan(0);
  expect(maintained).toEqual(scratch);
}

/**
 * Runs `first` in a transaction left open, then `second` in another, which must wait for a lock
 * of `waitsOn`'s type held by the first; then commits both, the first first.
 */
async function interleaved(first: [string, unknown[]], second: [string, unknown[]], waitsOn: 'advisory' | 'transactionid') {
  const one = new Client({ connectionString: t.url });
  const two = new Client({ connectionString: t.url });
  await one.connect();
  await two.connect();
  try {
    await one.query('BEGIN');
    await one.query(...first);
    await two.query('BEGIN');
    let done = false;
    const waiting = two.query(...second).finally(() => { done = true; });
    for (;;) {
      const { rows } = await one.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = $1 AND NOT granted`, [waitsOn]);
      if (rows[0].n > 0) break;
      expect(done).toBe(false);
      await new Promise((r) => setTimeout(r, 20));
    }
    await one.query('COMMIT');
    await waiting;
    await two.query('COMMIT');
  } finally {
    await one.end();
    await two.end();
  }
}

const local = (zone: string, iso: string) => DateTime.fromISO(iso, { zone }).toJSDate();

/** Periods that mix whole days, partial days and days whose windows have not all closed. */
function filters(): KpiFilter[] {
  const month = (zone: string, back: number) => {
    const start = DateTime.fromJSDate(now, { zone }).startOf('month').minus({ months: back });
    return { from: start.toJSDate(), to: start.plus({ months: 1 }).toJSDate() };
  };
  const out: KpiFilter[] = [];
  for (const store of [...STORES, undefined]) {
    const zone = store?.timeZone ?? 'Asia/Shanghai';
    const periods = [
      month(zone, 0), month(zone, 1), month(zone, 2), month(zone, 3),
      { from: DateTime.fromJSDate(now, { zone }).minus({ days: 120 }).startOf('day').toJSDate(), to: DateTime.fromJSDate(now, { zone }).plus({ days: 30 }).startOf('day').toJSDate() },
      // instants that cut days: the ends are counted row by row
      { from: new Date(now.getTime() - 61.3 * DAY), to: new Date(now.getTime() - 2.7 * DAY) },
      { from: new Date(now.getTime() - 40.5 * DAY), to: new Date(now.getTime() - 40.2 * DAY) },
    ];
    for (const p of periods) {
      out.push({ ...p, storeId: store?.id, asOf: now });
      if (store) out.push({ ...p, storeId: store.id, staffId: staffOf[store.id].consultant[0], asOf: now });
    }
  }
  out.push({ ...month('Asia/Shanghai', 1), staffId: staffOf.sh.cr_specialist[0], asOf: now });
  return out;
}

async function expectQueriesExact() {
  const all = filters();
  for (const filter of all) expect(await queries.tallies(filter)).toEqual(await queries.countRows(filter));
  // The rankings, against each person's counts read row by row: a group month, a store's 150 days, days cut by instants.
  for (const filter of [all[29], all[8], all[10]]) {
    const staff = await db.staff.findMany({ where: filter.storeId ? { storeId: filter.storeId } : {}, orderBy: { id: 'asc' } });
    for (const metric of RANKING_METRICS) {
      const ranked = isFollowUpKpi(metric) ? await queries.byAssignee(metric, filter) : await queries.byConsultant(metric, filter);
      const expected = [];
      for (const s of staff) {
        const { numerator, denominator } = (await queries.countRows({ ...filter, staffId: s.id })).byKey[metric];
        if (denominator > 0) expected.push({ staffId: s.id, storeId: s.storeId, name: s.name, role: s.role, numerator, denominator });
      }
      expect(ranked.length).toBeGreaterThan(0);
      expect([...ranked].sort((a, b) => a.staffId.localeCompare(b.staffId))).toEqual(expected);
    }
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  queries = createKpiQueries(db);
  activities = createFollowUpActivities({ db, logger: pino({ level: 'silent' }), ...caseWorkflows });
  await seedStores();
  for (let n = 0; n < 60; n++) await seedDelivery(n);
  await writeOutcomes();
}, 120_000);

afterAll(async () => {
  await t?.drop();
});

describe('KPI tallies', () => {
  it('equal the tallies rebuilt from scratch and the KPIs counted row by row, for periods, stores and staff', async () => {
    const statuses = await db.followUp.groupBy({ by: ['status'], _count: true });
    expect(statuses.map((s) => s.status).sort()).toEqual(['cancelled', 'done_late', 'done_on_time', 'failed', 'missed', 'open']);
    expect(await db.followUp.count({ where: { recordedLate: true } })).toBeGreaterThan(0);
    await expectTalliesExact();
    await expectQueriesExact();
    // a KPI added to src/domain/kpi.ts needs its tally columns (and the trigger counting them)
    const columns = (await db.$queryRaw<{ c: string }[]>`SELECT column_name::text AS c FROM information_schema.columns WHERE table_name = 'KpiTally'`).map((r) => r.c);
    for (const key of Object.keys(FOLLOW_UP_KPIS)) expect(columns).toEqual(expect.arrayContaining([`${key}D`, `${key}N`]));
  }, 120_000);

  it('stay exact when staff leave, customers are reclaimed, a delivery moves and a store changes its time zone', async () => {
    const leaver = staffOf.sh.consultant[1];
    const exit = await deactivateStaff({ db, temporal: caseWorkflows.temporal }, [leaver], 'system', now);
    expect(exit.tasks).toBeGreaterThan(0);
    await reclaimCustomers(db, 'xj', new Date(now.getTime() + 60 * DAY));
    const delivery = await db.delivery.findFirstOrThrow({ where: { storeId: 'sh' }, orderBy: { deliveredAt: 'asc' } });
    await db.delivery.update({ where: { id: delivery.id }, data: { byAppointment: !delivery.byAppointment, deliveredAt: new Date(delivery.deliveredAt.getTime() + 3 * DAY), consultantId: staffOf.sh.consultant[2] } });
    await expectTalliesExact();
    await db.store.update({ where: { id: 'xj' }, data: { timeZone: 'Asia/Kolkata' } });
    STORES[1].timeZone = 'Asia/Kolkata';
    await expectTalliesExact();
    await expectQueriesExact();
  }, 120_000);

  it('stay exact when the same follow-up, or two follow-ups of one delivery, change at once', async () => {
    // Through the product's paths, whichever wins: an answer against a miss, an answer against the holder leaving.
    const open = () => db.followUp.findMany({ where: { status: 'open', kind: 'call' }, take: 6, orderBy: { id: 'asc' } });
    for (const f of await open()) {
      const entry = followUps.find((x) => x.id === f.id)!;
      await Promise.allSettled([
        answer(entry, f.attempts + 1),
        f.id.charCodeAt(0) % 2 ? run(activities.closeFollowUp, { followUpId: f.id, status: 'missed' }) : deactivateStaff({ db, temporal: caseWorkflows.temporal }, [f.assigneeId!], 'system', now),
      ]);
    }
    await expectTalliesExact();

    // Two transactions complete two calls of one delivery, both keeping the promises: the second
    // must read the delivery's "before" with the first's answer, or promisesAnswered counts twice.
    const [a, b, c] = await db.$queryRaw<{ id: string; deliveryId: string }[]>`
      SELECT id::text, "deliveryId"::text FROM "FollowUp" f
      WHERE kind = 'call' AND status NOT IN ('done_on_time', 'done_late')
        AND "deliveryId" IN (SELECT "deliveryId" FROM "FollowUp" WHERE kind = 'call' AND status NOT IN ('done_on_time', 'done_late') GROUP BY 1 HAVING count(*) >= 2)
      ORDER BY "deliveryId", id LIMIT 3`;
    expect(a.deliveryId).toBe(b.deliveryId);
    const complete = `UPDATE "FollowUp" SET status = 'done_late', reached = true, satisfied = true, "promisesKept" = true WHERE id = $1`;
    await interleaved([complete, [a.id]], [complete, [b.id]], 'advisory');
    await expectTalliesExact();
    // The same follow-up: answered in one transaction, handed to a colleague in another. The second
    // waits for the row, then moves the answered call (its OLD is the first's NEW).
    const colleague = staffOf.sh.supervisor[0];
    await interleaved([complete, [c.id]], [`UPDATE "FollowUp" SET "assigneeId" = $1::uuid, "dueEnd" = "dueEnd" + interval '2 days' WHERE id = $2`, [colleague, c.id]], 'transactionid');
    expect((await db.followUp.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('done_late');
    await expectTalliesExact();
    await expectQueriesExact();
  }, 120_000);

  it('stay exact through statements that write many rows at once: a bulk load, a bulk answer, a bulk removal', async () => {
    await generate(t.url, {
      seed: 7, stores: 2, staffPerStore: 6, historyFollowUps: 2000, historyFrom: new Date(now.getTime() - 90 * DAY), historyTo: new Date(now.getTime() - DAY),
      openFollowUps: 400, now,
    });
    await expectTalliesExact();
    // several calls of one delivery answered in one statement, and their answers changed again
    const answered = await db.$executeRaw`
      UPDATE "FollowUp" SET status = 'done_on_time', reached = true, satisfied = (hashtext(id::text) % 3 <> 0), "promisesKept" = (hashtext(id::text) % 4 <> 0)
      WHERE kind = 'call' AND status = 'open' AND "storeId" = 's01'`;
    expect(answered).toBeGreaterThan(10);
    await db.$executeRaw`UPDATE "FollowUp" SET satisfied = NOT satisfied, survey = NOT survey WHERE kind = 'call' AND "storeId" = 's01' AND status = 'done_on_time'`;
    await expectTalliesExact();
    await db.$executeRaw`DELETE FROM "Message" WHERE "followUpId" IN (SELECT id FROM "FollowUp" WHERE "storeId" = 's02')`;
    await db.$executeRaw`DELETE FROM "FollowUp" WHERE "storeId" = 's02'`;
    await db.$executeRaw`DELETE FROM "Delivery" WHERE "storeId" = 's02' AND NOT EXISTS (SELECT 1 FROM "Message" m WHERE m."deliveryId" = "Delivery".id)`;
    await expectTalliesExact();
  }, 120_000);
});

describe('tallyDays', () => {
  const asOf = new Date('2026-11-28T05:00:00Z');
  it('keeps whole local days whose windows closed before the moment of reading', () => {
    const days = tallyDays({ from: local('Asia/Shanghai', '2026-11-01'), to: local('Asia/Shanghai', '2026-12-01'), asOf }, 'Asia/Shanghai');
    expect(days).toEqual({ from: local('Asia/Shanghai', '2026-11-01'), to: local('Asia/Shanghai', '2026-11-28'), fromDay: '2026-11-01', toDay: '2026-11-28' });
  });
  it('rounds a period that cuts days inward, in the zone asked', () => {
    const days = tallyDays({ from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z'), asOf }, 'Asia/Urumqi');
    expect(days?.fromDay).toBe('2026-03-02');
    expect(days?.toDay).toBe('2026-04-01');
    expect(days?.from).toEqual(new Date('2026-03-01T18:00:00Z'));
  });
  it('has none when no whole closed day fits', () => {
    expect(tallyDays({ from: new Date('2026-11-27T17:00:00Z'), to: new Date('2026-11-29T00:00:00Z'), asOf }, 'Asia/Shanghai')).toBeNull();
  });
});
