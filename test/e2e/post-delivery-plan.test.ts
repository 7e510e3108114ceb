import { DateTime } from 'luxon';
import { vinCheckDigit } from '../../src/domain/vin';
import type { Stack } from '../../src/stack';
import { api, eventually, seedStore, startTestStack } from '../helpers/stack';

/**
 * The post-delivery plan over HTTP, as a store's staff would work it. The car was delivered eight
 * days ago, so on the real Temporal server the workflow finds the day-2 call already missed, the
 * day 4-6 and day-7 calls overdue, and the manager's day 8-10 call due now.
 */
jest.setTimeout(180_000);

const STORE = 'e2e-plan';
const ZONE = 'Asia/Shanghai';

interface Task { id: string; stepKey: string; status: string; assigneeId: string | null; overdue: boolean; mandatory: boolean; checklist: string[]; dueStart: string; dueEnd: string; attempts: number; nextAttemptAt: string | null }

describe('the post-delivery plan worked by the staff', () => {
  let stack: Stack;
  let client: ReturnType<typeof api>;
  const staff: Record<string, string> = {};
  let deliveryId: string;
  let deliveredAt: Date;

  beforeAll(async () => {
    stack = await startTestStack();
    const { key } = await seedStore(stack, STORE);
    client = api(stack, key);
    for (const [externalId, name, role] of [['S-01', '李娜', 'consultant'], ['S-02', '赵强', 'supervisor'], ['S-03', '孙丽', 'cr_specialist'], ['S-04', '周伟', 'manager'], ['S-05', '吴敏', 'manager']]) {
      const res = await client.put(`/v1/stores/${STORE}/staff/${externalId}`, { name, role });
      expect(res.status).toBe(200);
      staff[externalId] = res.body.id;
    }
    // 10:00 local time, eight local days ago.
    deliveredAt = DateTime.now().setZone(ZONE).startOf('day').minus({ days: 8 }).set({ hour: 10 }).toJSDate();
    const draft = 'LSVAU2180N2700001';
    const res = await client.post('/v1/deliveries', {
      storeId: STORE,
      deliveredAt: deliveredAt.toISOString(),
      customer: { externalId: 'C-7', name: '陈静', phone: '+8613700007777', contactWindow: { start: '00:00', end: '23:59' } },
      vehicle: { vin: draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9), model: '途观L Tiguan L' },
      consultant: { externalId: 'S-01' },
    });
    expect(res.status).toBe(201);
    deliveryId = res.body.id;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const tasks = async (query = `storeId=${STORE}&status=all`): Promise<Task[]> => (await client.get(`/v1/tasks?${query}`)).body.tasks;
  const task = async (stepKey: string) => (await tasks()).find((t) => t.stepKey === stepKey)!;

  it('writes every call task when it falls due, assigned to the right person, with its checklist', async () => {
    const all = await eventually('four call tasks', async () => {
      const list = await tasks();
      return list.length === 4 && list.some((t) => t.status === 'missed') ? list : undefined;
    });
    const byStep = Object.fromEntries(all.map((t) => [t.stepKey, t]));
    expect(byStep['consultant-call-day-2']).toMatchObject({ status: 'missed', assigneeId: staff['S-01'] });
    expect(byStep['supervisor-call-day-4-6']).toMatchObject({ status: 'open', overdue: true, assigneeId: staff['S-02'] });
    expect(byStep['cr-satisfaction-call-day-7']).toMatchObject({ status: 'open', overdue: true, assigneeId: staff['S-03'] });
    expect(byStep['manager-call-day-8-10']).toMatchObject({ status: 'open', overdue: false, mandatory: false });
    for (const t of all) expect(t.checklist.length).toBeGreaterThan(0);

    const inbox = await tasks(`assigneeId=${staff['S-02']}`);
    expect(inbox.map((t) => t.stepKey)).toEqual(['supervisor-call-day-4-6']);
    const overdue = await tasks(`storeId=${STORE}&due=overdue`);
    expect(overdue.map((t) => t.stepKey).sort()).toEqual(['cr-satisfaction-call-day-7', 'supervisor-call-day-4-6']);
  });

  it('lets a manager hand a task over and move it when the customer asks to be called tomorrow at ten', async () => {
    const manager = await task('manager-call-day-8-10');
    const handed = await client.post(`/v1/tasks/${manager.id}/reassign`, { assigneeId: staff['S-05'] });
    expect(handed.status).toBe(200);
    expect(handed.body.assigneeId).toBe(staff['S-05']);

    const tomorrowTen = DateTime.now().setZone(ZONE).plus({ days: 1 }).set({ hour: 10, minute: 0, second: 0, millisecond: 0 });
    const moved = await client.post(`/v1/tasks/${manager.id}/reschedule`, { at: tomorrowTen.toISO() });
    expect(moved.status).toBe(200);
    expect(moved.body.dueStart).toBe(tomorrowTen.toUTC().toISO());
    expect(moved.body.dueEnd).toBe(manager.dueEnd); // the window never shrinks

    const bad = await client.post(`/v1/tasks/${manager.id}/reassign`, { assigneeId: deliveryId });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].field).toBe('assigneeId');
  });

  it('tries an unreached customer again, then a dissatisfied survey opens a case and makes the manager call mandatory', async () => {
    const survey = await task('cr-satisfaction-call-day-7');
    const unreached = await client.post(`/v1/tasks/${survey.id}/complete`, { reached: false, note: '无人接听' }, { 'x-staff-id': staff['S-03'] });
    expect(unreached.status).toBe(200);
    expect(unreached.body).toMatchObject({ status: 'open', attempts: 1 });
    expect(unreached.body.nextAttemptAt).not.toBeNull();

    const missingAnswer = await client.post(`/v1/tasks/${survey.id}/complete`, { reached: true });
    expect(missingAnswer.status).toBe(400);
    expect(missingAnswer.body.issues).toEqual([{ field: 'satisfied', message: 'required when the customer was reached' }]);

    const answered = await client.post(`/v1/tasks/${survey.id}/complete`,
      { reached: true, satisfied: false, csat: 2, nps: 3, complaint: '车窗有异响，交车时承诺的脚垫未送' }, { 'x-staff-id': staff['S-03'] });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ status: 'done_late', attempts: 2 });
    expect(answered.body.outcome.completedById).toBe(staff['S-03']);
    expect(answered.body.caseId).toEqual(expect.any(String));
    expect((await task('manager-call-day-8-10')).mandatory).toBe(true);

    const again = await client.post(`/v1/tasks/${survey.id}/complete`, { reached: true, satisfied: true });
    expect(again.status).toBe(409);
  });

  it('records the other calls and reads back exact KPIs, the missed call counted in the denominators', async () => {
    const supervisor = await task('supervisor-call-day-4-6');
    expect((await client.post(`/v1/tasks/${supervisor.id}/complete`, { reached: true, satisfied: true, promisesKept: true, csat: 5, nps: 10 })).body.status).toBe('done_late');
    const manager = await task('manager-call-day-8-10');
    expect((await client.post(`/v1/tasks/${manager.id}/complete`, { reached: true, satisfied: true, promisesKept: true, csat: 4, nps: 9 })).body.status).toBe('done_on_time');

    const from = new Date(deliveredAt.getTime() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const res = await client.get(`/v1/kpis?storeId=${STORE}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(res.status).toBe(200);
    const kpi = Object.fromEntries(res.body.kpis.map((k: { key: string }) => [k.key, k]));
    // Due: 4 calls (day-2 missed, day 4-6 late, day-7 late, day 8-10 on time).
    expect(kpi.timeliness).toMatchObject({ numerator: 1, denominator: 4, rate: 25 });
    // Recorded with an outcome: 3 of the 4 due (the missed one never was).
    expect(kpi.recordingCompletion).toMatchObject({ numerator: 3, denominator: 4, rate: 75 });
    // Completed 3, satisfied 2 (supervisor, manager): 2/3.
    expect(kpi.satisfaction).toMatchObject({ numerator: 2, denominator: 3, rate: 66.7 });
    // One delivery, its survey dissatisfied.
    expect(kpi.deliverySatisfaction).toMatchObject({ numerator: 0, denominator: 1, rate: 0 });
    // Promises recorded twice, both kept.
    expect(kpi.promisesKept).toMatchObject({ numerator: 1, denominator: 1, rate: 100 });
    // CSAT 5, 2, 4: two of three are 4-5; mean 11/3.
    expect(kpi.csat).toMatchObject({ numerator: 2, denominator: 3, rate: 66.7, mean: 3.67 });
    // NPS 10, 3, 9: promoters 2, detractors 1, (2-1)/3.
    expect(kpi.nps).toMatchObject({ score: 33.3, responses: 3, promoters: 2, detractors: 1 });

    const rows = await client.get(`/v1/kpis/timeliness/rows?storeId=${STORE}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(rows.body.items).toHaveLength(4);
    expect(rows.body.items.filter((r: { inNumerator: boolean }) => r.inNumerator)).toHaveLength(1);
  });
});
