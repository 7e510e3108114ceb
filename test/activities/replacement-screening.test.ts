import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createReplacementActivities } from '../../src/activities/replacement';
import type { ActivityDeps } from '../../src/activities/deps';
import type { Db } from '../../src/db/client';
import { createTestDatabase } from '../helpers/db';
import { seedCustomer, seedStore, silentLogger } from '../messaging/fixtures';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
});

afterAll(async () => {
  await t?.drop();
});

/** 08:00 in Shanghai on a Saturday, the store's screening day. */
const MORNING = '2030-06-15T00:00:00.000Z';

describe('the replacement screening', () => {
  it('makes candidates only of vehicles whose workflow plans the years (one that predates the planning would refuse the call), also with no service or mileage bound', async () => {
    const { store } = await seedStore(db);
    await db.store.update({
      where: { id: store.id },
      data: { replacementCriteria: { enabled: true, screeningWeekday: 6, minAgeMonths: 36, maxAgeMonths: 60, models: [], lastServiceWithinMonths: null, minMileageKm: null, callWindowDays: 7 } },
    });
    const vehicle = async () => {
      const c = await seedCustomer(db, store.id, { deliveredAt: new Date('2027-01-10T10:00:00+08:00') });
      return db.delivery.update({ where: { id: c.deliveryId }, data: { workflowStartedAt: new Date() } });
    };
    const planned = await vehicle();
    const beforePlanning = await vehicle();
    await vehicle(); // its workflow does not answer: left for the next screening
    const states: Record<string, object> = {
      [planned.workflowId]: { years: { lastServiceOn: '2030-01-01', servicesDone: 2, readings: [] } },
      // A run started before the years were planned: its state has no years.
      [beforePlanning.workflowId]: { phase: 'years' },
    };
    const temporal = {
      workflow: {
        withDeadline: <T>(_at: number, fn: () => Promise<T>) => fn(),
        getHandle: (id: string) => ({
          query: async () => {
            if (!states[id]) throw new Error(`workflow ${id} not found`);
            return states[id];
          },
        }),
      },
    } as unknown as ActivityDeps['temporal'];
    const screening = createReplacementActivities({ db, logger: silentLogger, temporal });
    const result = await new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(screening.screenReplacementCandidates, { storeId: store.id, asOf: MORNING });

    expect(result).toMatchObject({ screened: 1, added: 1 });
    const candidates = await db.replacementCandidate.findMany({ where: { storeId: store.id } });
    expect(candidates.map((c) => c.deliveryId)).toEqual([planned.id]);
    expect(candidates[0].facts).toEqual({ ageMonths: 41, model: 'Model Y', lastServiceOn: '2030-01-01', forecastKm: null });
  });
});
