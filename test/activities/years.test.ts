import { createYearsActivities } from '../../src/activities/years';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { seedCustomer, seedStore } from '../messaging/fixtures';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let activities: ReturnType<typeof createYearsActivities>;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  activities = createYearsActivities({ db });
});

afterAll(async () => {
  await t?.drop();
});

describe('recordYearsCycle (the KPI rows of the years)', () => {
  it('writes each change once: a retry or a repeated event keeps the first time, and the due date follows the latest plan', async () => {
    const { store } = await seedStore(db);
    const { deliveryId } = await seedCustomer(db, store.id);
    const base = { deliveryId, key: 'maintenance-2', kind: 'maintenance' as const };
    await activities.recordYearsCycle({ ...base, dueOn: '2027-09-10', change: 'reminded', at: '2027-08-27T01:00:00.000Z' });
    await activities.recordYearsCycle({ ...base, dueOn: '2027-09-10', change: 'reminded', at: '2027-09-07T01:00:00.000Z' });
    // An odometer reading brought the service forward before the customer booked it.
    await activities.recordYearsCycle({ ...base, dueOn: '2027-08-30', change: 'booked', at: '2027-08-28T03:00:00.000Z' });
    await activities.recordYearsCycle({ ...base, dueOn: '2027-08-30', change: 'done', at: '2027-08-30T06:00:00.000Z' });
    const row = await db.yearsCycle.findUniqueOrThrow({ where: { deliveryId_key: { deliveryId, key: 'maintenance-2' } } });
    expect(row).toMatchObject({
      storeId: store.id, kind: 'maintenance', dueOn: new Date('2027-08-30T00:00:00Z'), remindedAt: new Date('2027-08-27T01:00:00.000Z'),
      bookedAt: new Date('2027-08-28T03:00:00.000Z'), doneAt: new Date('2027-08-30T06:00:00.000Z'), lapsedAt: null,
    });
  });

  it('two writes of a new cycle at once make one row with both changes', async () => {
    const { store } = await seedStore(db);
    const { deliveryId } = await seedCustomer(db, store.id);
    const base = { deliveryId, key: 'insurance-2028-03-09', kind: 'insurance' as const, dueOn: '2028-03-09' };
    const results = await Promise.allSettled([
      activities.recordYearsCycle({ ...base, change: 'reminded', at: '2028-01-09T01:00:00.000Z' }),
      activities.recordYearsCycle({ ...base, change: 'done', at: '2028-02-01T01:00:00.000Z' }),
    ]);
    // A lost insert race fails that try; Temporal retries it, and the retry finds the row.
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') await activities.recordYearsCycle({ ...base, change: i === 0 ? 'reminded' : 'done', at: i === 0 ? '2028-01-09T01:00:00.000Z' : '2028-02-01T01:00:00.000Z' });
    }
    const rows = await db.yearsCycle.findMany({ where: { deliveryId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ remindedAt: new Date('2028-01-09T01:00:00.000Z'), doneAt: new Date('2028-02-01T01:00:00.000Z') });
  });
});
