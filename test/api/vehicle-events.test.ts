import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../../src/db/client';
import { DEFAULT_YEARS_PLAN, type VehicleEvent } from '../../src/domain/years';
import { createTestDatabase } from '../helpers/db';
import { adminKey, type Api, buildApi, seedCustomer, seedStore } from '../messaging/fixtures';

// Jest on Node 20 cannot require the ES-only modules of the docs UI, which is not under test here.
jest.mock('@fastify/swagger-ui', () => ({ __esModule: true, default: async () => undefined }));

interface Sent { workflowId: string; name: string; arg: unknown; updateId?: string }

/** A Temporal client that records what the route asks of the workflow; `refuse` makes the update fail as the workflow's validator would. */
function temporalDouble() {
  const sent: Sent[] = [];
  let refuse: ApplicationFailure | null = null;
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async (def: { name: string } | string, arg: unknown) => {
          sent.push({ workflowId, name: typeof def === 'string' ? def : def.name, arg });
        },
        executeUpdate: async (def: { name: string }, opts: { args: unknown[]; updateId?: string }) => {
          if (refuse) throw new WorkflowUpdateFailedError('update failed', refuse);
          sent.push({ workflowId, name: def.name, arg: opts.args[0], updateId: opts.updateId });
          return { upcoming: [{ kind: 'maintenance', key: 'maintenance-2', dueOn: '2028-06-01' }] };
        },
      }),
    },
  } as unknown as Client;
  return { client, sent, refuseWith: (f: ApplicationFailure | null) => { refuse = f; } };
}

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
let api: Api;
let temporal: ReturnType<typeof temporalDouble>;
let storeId: string;
const as = { authorization: '' };

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.db;
  temporal = temporalDouble();
  api = await buildApi(db, temporal.client);
  storeId = (await seedStore(db)).store.id;
  as.authorization = `Bearer ${await adminKey(db)}`;
});

afterAll(async () => {
  await api?.close();
  await t?.drop();
});

const deliveredAt = new Date(Date.now() - 200 * 24 * 3600_000);
const post = async (deliveryId: string, body: object, headers: Record<string, string> = {}) =>
  api.request('POST', `/v1/deliveries/${deliveryId}/vehicle-events`, { headers: { ...as, ...headers }, body });
const fieldsOf = (res: { json(): { issues?: { field: string }[] } }) => (res.json().issues ?? []).map((i) => i.field);

describe('DMS vehicle events', () => {
  it('a service visit reaches the workflow in the store\'s local dates, the Idempotency-Key as the update ID', async () => {
    const { deliveryId, workflowId } = await seedCustomer(db, storeId, { deliveredAt });
    // 23:30 UTC is the next morning in Shanghai.
    const visitedAt = new Date(Date.now() - 3 * 24 * 3600_000);
    visitedAt.setUTCHours(23, 30, 0, 0);
    const res = await post(deliveryId, { kind: 'service-visit', visitedAt: visitedAt.toISOString(), odometerKm: 8_123, maintenance: true, work: ['更换机油'] }, { 'idempotency-key': 'dms-visit-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deliveryId, status: 'recorded', upcoming: [{ kind: 'maintenance', key: 'maintenance-2', dueOn: '2028-06-01' }] });
    const next = new Date(visitedAt.getTime() + 24 * 3600_000).toISOString().slice(0, 10);
    expect(temporal.sent.at(-1)).toEqual({
      workflowId, name: 'recordVehicleEvent', updateId: `vehicle-event:${deliveryId}:dms-visit-1`,
      arg: { kind: 'service-visit', visitedOn: next, odometerKm: 8_123, maintenance: true, work: ['更换机油'] } satisfies VehicleEvent,
    });
  });

  it.each([
    ['an odometer past 2,000,000 km', { kind: 'odometer', readAt: new Date().toISOString(), km: 2_000_001 }, ['km']],
    ['a negative odometer', { kind: 'service-visit', visitedAt: new Date().toISOString(), odometerKm: -5, maintenance: true }, ['odometerKm']],
    ['a fractional odometer', { kind: 'odometer', readAt: new Date().toISOString(), km: 10.5 }, ['km']],
    ['a date far in the future', { kind: 'insurance-renewed', expiresOn: '2300-01-01' }, ['expiresOn']],
    ['an impossible date', { kind: 'inspection-passed', nextDueOn: '2028-02-30' }, ['nextDueOn']],
    ['a visit without its kind of work', { kind: 'service-visit', visitedAt: new Date().toISOString() }, ['maintenance']],
    ['work done with NUL in it', { kind: 'service-visit', visitedAt: new Date().toISOString(), maintenance: false, work: ['换\u0000油'] }, ['work.0']],
    ['an unknown field', { kind: 'odometer', readAt: new Date().toISOString(), km: 5, mileage: 5 }, ['(body)']],
    ['a birthday that is no date', { kind: 'owner-details', birthday: '02-30x' }, ['birthday']],
  ])('%s is a 400 naming the field, and nothing reaches the workflow', async (_what, body, fields) => {
    const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt });
    const before = temporal.sent.length;
    const res = await post(deliveryId, body);
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res)).toEqual(fields);
    expect(temporal.sent.length).toBe(before);
  });

  it('an unknown kind is a 400 naming kind', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt });
    const res = await post(deliveryId, { kind: 'repainted' });
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res)).toContain('kind');
  });

  it('a visit or reading in the future, or before the delivery, is a 400 naming it', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt });
    const future = await post(deliveryId, { kind: 'odometer', readAt: new Date(Date.now() + 3600_000).toISOString(), km: 100 });
    expect([future.statusCode, fieldsOf(future), future.json().issues[0].message]).toEqual([400, ['readAt'], 'must not be in the future']);
    const early = await post(deliveryId, { kind: 'service-visit', visitedAt: new Date(deliveredAt.getTime() - 86_400_000).toISOString(), maintenance: true });
    expect([early.statusCode, fieldsOf(early)]).toEqual([400, ['visitedAt']]);
  });

  it('a transfer reported by the DMS ends the ownership through the workflow\'s signal', async () => {
    const { deliveryId, workflowId } = await seedCustomer(db, storeId, { deliveredAt });
    const endedAt = new Date(Date.now() - 3600_000).toISOString();
    const res = await post(deliveryId, { kind: 'transferred', endedAt });
    expect([res.statusCode, res.json().status]).toEqual([202, 'ending']);
    expect(temporal.sent.at(-1)).toEqual({ workflowId, name: 'ownershipEnded', arg: { reason: 'transferred', endedAt } });
  });

  it('an event the workflow refuses is a 400 naming the field, or a 409 for an ownership that plans no years yet', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt });
    try {
      temporal.refuseWith(ApplicationFailure.nonRetryable('readOn must be a date YYYY-MM-DD between 2000 and 2100', 'InvalidRequest'));
      const bad = await post(deliveryId, { kind: 'odometer', readAt: new Date().toISOString(), km: 100 });
      expect([bad.statusCode, fieldsOf(bad)]).toEqual([400, ['readOn']]);
      temporal.refuseWith(ApplicationFailure.nonRetryable('this ownership started before the years were planned', 'YearsNotPlanned'));
      const old = await post(deliveryId, { kind: 'odometer', readAt: new Date().toISOString(), km: 100 });
      expect(old.statusCode).toBe(409);
    } finally {
      temporal.refuseWith(null);
    }
  });

  it('an ended ownership is a 409; an unknown or another store\'s delivery a 404', async () => {
    const { deliveryId } = await seedCustomer(db, storeId, { deliveredAt });
    await db.delivery.update({ where: { id: deliveryId }, data: { status: 'ended' } });
    expect((await post(deliveryId, { kind: 'insurance-renewed', expiresOn: '2029-01-01' })).statusCode).toBe(409);
    expect((await post('00000000-0000-4000-8000-000000000000', { kind: 'insurance-renewed', expiresOn: '2029-01-01' })).statusCode).toBe(404);
    const other = await seedStore(db);
    const elsewhere = await seedCustomer(db, other.store.id, { deliveredAt });
    const scoped = { authorization: `Bearer ${await adminKey(db, storeId)}` };
    expect((await api.request('POST', `/v1/deliveries/${elsewhere.deliveryId}/vehicle-events`, { headers: scoped, body: { kind: 'insurance-renewed', expiresOn: '2029-01-01' } })).statusCode).toBe(404);
  });
});

describe('the store\'s years plan', () => {
  it('is the built-in one until the store saves its own; a saved plan is what GET answers', async () => {
    const path = `/v1/stores/${storeId}/years-plan`;
    expect((await api.request('GET', path, { headers: as })).json()).toEqual({ storeId, builtIn: true, plan: DEFAULT_YEARS_PLAN });
    const own = { ...DEFAULT_YEARS_PLAN, maintenance: { ...DEFAULT_YEARS_PLAN.maintenance, models: [{ model: '汉 EV', first: { months: 12, km: 20_000 }, every: { months: 24, km: 30_000 } }] } };
    expect((await api.request('PUT', path, { headers: as, body: own })).statusCode).toBe(200);
    expect((await api.request('GET', path, { headers: as })).json()).toEqual({ storeId, builtIn: false, plan: own });
  });

  it.each([
    ['a service interval of 0 km', (p: typeof DEFAULT_YEARS_PLAN) => ({ ...p, maintenance: { ...p.maintenance, every: { months: 12, km: 0 } } }), 'maintenance.every.km'],
    ['a reminder two years ahead', (p: typeof DEFAULT_YEARS_PLAN) => ({ ...p, insurance: { touches: [{ ...p.insurance.touches[0], offsetDays: -800 }] } }), 'insurance.touches.0.offsetDays'],
    ['a call for a role nobody holds', (p: typeof DEFAULT_YEARS_PLAN) => ({ ...p, postService: { touches: [{ ...p.postService.touches[0], role: 'janitor' }] } }), 'postService.touches.0.role'],
  ])('%s is a 400 naming the field', async (_what, change, field) => {
    const res = await api.request('PUT', `/v1/stores/${storeId}/years-plan`, { headers: as, body: change(DEFAULT_YEARS_PLAN) });
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res)).toEqual([field]);
  });
});

describe('KPIs of the years', () => {
  it('count reminded -> booked -> came, renewals of the policies due, and post-service satisfaction, as computed by hand', async () => {
    const store = (await seedStore(db)).store.id;
    const { deliveryId } = await seedCustomer(db, store, { deliveredAt: new Date('2025-06-01T02:00:00Z') });
    const cycle = (key: string, kind: string, dueOn: string, at: { remindedAt?: string; bookedAt?: string; doneAt?: string; lapsedAt?: string }) =>
      db.yearsCycle.create({ data: { storeId: store, deliveryId, key, kind, dueOn: new Date(`${dueOn}T00:00:00Z`), ...Object.fromEntries(Object.entries(at).map(([k, v]) => [k, new Date(v)])) } });
    const t = '2026-05-01T02:00:00Z';
    await cycle('maintenance-1', 'maintenance', '2026-05-10', { remindedAt: t, bookedAt: t, doneAt: t }); // reminded, booked, came
    await cycle('maintenance-2', 'maintenance', '2026-05-20', { remindedAt: t, doneAt: t }); // reminded, came without booking
    await cycle('maintenance-3', 'maintenance', '2026-05-25', { remindedAt: t }); // reminded only
    await cycle('maintenance-4', 'maintenance', '2026-05-28', { doneAt: t }); // never reminded: not counted
    await cycle('maintenance-5', 'maintenance', '2026-06-02', { remindedAt: t, bookedAt: t }); // due after the period
    await cycle('insurance-2026-05-15', 'insurance', '2026-05-15', { remindedAt: t, doneAt: t }); // renewed
    await cycle('insurance-2026-05-16', 'insurance', '2026-05-16', { remindedAt: t, lapsedAt: t }); // lapsed
    await cycle('insurance-2026-05-30', 'insurance', '2026-05-30', {}); // expired, nothing recorded
    const call = (stepKey: string, status: string, satisfied: boolean | null) => db.followUp.create({
      data: {
        storeId: store, deliveryId, stepKey, kind: 'call', role: 'cr_specialist', channel: 'phone', status, satisfied, reached: satisfied !== null,
        dueStart: new Date('2026-05-11T01:00:00Z'), dueEnd: new Date('2026-05-13T12:00:00Z'), checklist: [],
      },
    });
    await call('post-service-2026-05-10-1', 'done_on_time', true);
    await call('post-service-2026-05-11-1', 'done_late', false);
    await call('post-service-2026-05-12-1', 'missed', null); // not completed: not in the denominator
    await call('consultant-call-day-2', 'done_on_time', false); // a delivery call: not a post-service one

    const res = await api.request('GET', `/v1/kpis/years?storeId=${store}&from=2026-05-01&to=2026-06-01`, { headers: as });
    expect(res.statusCode).toBe(200);
    expect(res.json().kpis.map((k: { key: string; numerator: number; denominator: number; rate: number | null }) => [k.key, k.numerator, k.denominator, k.rate])).toEqual([
      ['maintenanceBooked', 1, 3, 33.3],
      ['maintenanceCame', 2, 3, 66.7],
      ['insuranceRenewal', 1, 3, 33.3],
      ['postServiceSatisfaction', 1, 2, 50],
      ['invitationToVisit', 0, 0, null],
    ]);
  });
});

