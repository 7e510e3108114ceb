import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, recordingTemporal, seedCustomer, seedStore } from '../messaging/fixtures';

/*
 * A follow-up carries its delivery's customer and vehicle IDs (the inbox joins them without the
 * delivery): the triggers of migration follow_up_parties are their one writer, so the copy is the
 * delivery's whatever a writer passes, and follows a change of the delivery's customer or vehicle.
 */

jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let api: Api;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await buildApi(t.db, recordingTemporal().client);
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const parties = (id: string) => t.db.followUp.findUniqueOrThrow({ where: { id }, select: { customerId: true, vehicleId: true } });

it('a follow-up gets its delivery\'s customer and vehicle, and keeps them as the delivery\'s; the inbox shows them', async () => {
  const { store } = await seedStore(t.db);
  const mine = await seedCustomer(t.db, store.id);
  const other = await seedCustomer(t.db, store.id);
  const delivery = await t.db.delivery.findUniqueOrThrow({ where: { id: mine.deliveryId }, include: { vehicle: true } });
  const otherDelivery = await t.db.delivery.findUniqueOrThrow({ where: { id: other.deliveryId } });
  const { id } = await t.db.followUp.create({
    data: {
      storeId: store.id, deliveryId: mine.deliveryId, stepKey: 'day-2', kind: 'call', role: 'consultant', channel: 'phone',
      dueStart: new Date(), dueEnd: new Date(Date.now() + 86400_000), checklist: [],
      // a writer passing another delivery's parties does not get them stored
      customerId: other.customerId, vehicleId: otherDelivery.vehicleId,
    },
  });
  expect(await parties(id)).toEqual({ customerId: mine.customerId, vehicleId: delivery.vehicleId });
  await t.db.followUp.update({ where: { id }, data: { customerId: other.customerId } });
  expect(await parties(id)).toEqual({ customerId: mine.customerId, vehicleId: delivery.vehicleId });

  const res = await api.request('GET', `/v1/tasks?storeId=${store.id}`, { headers: { authorization: `Bearer ${await adminKey(t.db)}` } });
  expect(res.statusCode).toBe(200);
  expect(res.json().tasks).toEqual([expect.objectContaining({ id, customer: expect.objectContaining({ id: mine.customerId }), vehicle: { vin: delivery.vehicle.vin, model: 'Model Y' } })]);

  // Nothing changes a delivery's customer or vehicle today; were it done, its follow-ups follow.
  await t.db.delivery.update({ where: { id: mine.deliveryId }, data: { customerId: other.customerId, vehicleId: otherDelivery.vehicleId } });
  expect(await parties(id)).toEqual({ customerId: other.customerId, vehicleId: otherDelivery.vehicleId });
});
