import { DateTime } from 'luxon';
import { vinCheckDigit } from '../../src/domain/vin';
import type { Stack } from '../../src/stack';
import { api, eventually, seedStore, startTestStack } from '../helpers/stack';

/**
 * The post-delivery plan over HTTP, as a store's staff would work it. The DMS reports a car
 * delivered eight days ago only now (a backfilled delivery), so on the real Temporal server the
 * workflow finds its SMS expired (never sent a week late), the day-2 call already missed, the day
 * 4-6 and day-7 calls overdue, and the manager's day 8-10 call due now. The calls whose window had
 * closed before the delivery reached us are recorded late: counted apart, not against the staff.
 */
jest.setTimeout(180_000);

const STORE = 'e2e-plan';
const ZONE = 'Asia/Shanghai';

interface Task {
  id: string; stepKey: string; status: string; assigneeId: string | null; overdue: boolean; mandatory: boolean; checklist: string[];
  dueStart: string; dueEnd: string; requestedAt: string | null; recordedLate: boolean; attempts: number; nextAttemptAt: string | null;
}

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
      byAppointment: true,
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
    // Their windows had closed before the delivery reached the system: nobody could have called on time.
    expect(all.filter((t) => t.recordedLate).map((t) => t.stepKey).sort()).toEqual(['consultant-call-day-2', 'cr-satisfaction-call-day-7', 'supervisor-call-day-4-6']);

    const inbox = await tasks(`assigneeId=${staff['S-02']}`);
    expect(inbox.map((t) => t.stepKey)).toEqual(['supervisor-call-day-4-6']);
    const overdue = await tasks(`storeId=${STORE}&due=overdue`);
    expect(overdue.map((t) => t.stepKey).sort()).toEqual(['cr-satisfaction-call-day-7', 'supervisor-call-day-4-6']);
  });

  it('sends none of the SMS a week late: they are recorded as expired in the schedule', async () => {
    const delivery = await eventually('the plan\'s messages settled', async () => {
      const res = await client.get(`/v1/deliveries/${deliveryId}`);
      const steps = res.body.workflow?.steps ?? [];
      return steps.filter((s: { status: string }) => s.status === 'expired').length === 3 ? res.body : undefined;
    });
    expect(delivery.workflow.steps.slice(0, 3).map((s: { key: string; status: string }) => [s.key, s.status])).toEqual([
      ['delivery-thank-you', 'expired'], ['delivery-farewell', 'expired'], ['delivery-care-2h', 'expired'],
    ]);
    expect(delivery.messages).toEqual([]);
  });

  it('lets a manager hand a task over and note that the customer asks to be called tomorrow at ten, leaving its required window', async () => {
    const manager = await task('manager-call-day-8-10');
    const handed = await client.post(`/v1/tasks/${manager.id}/reassign`, { assigneeId: staff['S-05'] });
    expect(handed.status).toBe(200);
    expect(handed.body.assigneeId).toBe(staff['S-05']);

    const tomorrowTen = DateTime.now().setZone(ZONE).plus({ days: 1 }).set({ hour: 10, minute: 0, second: 0, millisecond: 0 });
    const moved = await client.post(`/v1/tasks/${manager.id}/reschedule`, { at: tomorrowTen.toISO() });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ requestedAt: tomorrowTen.toUTC().toISO(), nextAttemptAt: tomorrowTen.toUTC().toISO(), dueStart: manager.dueStart, dueEnd: manager.dueEnd });

    const bad = await client.post(`/v1/tasks/${manager.id}/reassign`, { assigneeId: deliveryId });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].field).toBe('assigneeId');
    for (const at of ['9999-12-31T00:00:00Z', DateTime.now().plus({ days: 5 }).toISO()]) {
      const absurd = await client.post(`/v1/tasks/${manager.id}/reschedule`, { at });
      expect(absurd.status).toBe(400);
      expect(absurd.body.issues[0].field).toBe('at');
    }
  });

  it('a call overdue since yesterday, rescheduled to "in two minutes" and made then, stays late', async () => {
    const supervisor = await task('supervisor-call-day-4-6');
    const inTwoMinutes = new Date(Date.now() + 2 * 60_000).toISOString();
    expect((await client.post(`/v1/tasks/${supervisor.id}/reschedule`, { at: inTwoMinutes })).status).toBe(200);
    const done = await client.post(`/v1/tasks/${supervisor.id}/complete`, { reached: true, satisfied: true, promisesKept: true, csat: 5, nps: 10 });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'done_late', dueEnd: supervisor.dueEnd, requestedAt: new Date(inTwoMinutes).toISOString() });
  });

  it('tries an unreached customer again (a retried request counts once), then a dissatisfied survey opens a case and makes the manager call mandatory', async () => {
    const survey = await task('cr-satisfaction-call-day-7');
    const idempotent = { 'x-staff-id': staff['S-03'], 'idempotency-key': 'a1b2c3d4-survey-try-1' };
    const unreached = await client.post(`/v1/tasks/${survey.id}/complete`, { reached: false, note: '无人接听' }, idempotent);
    expect(unreached.status).toBe(200);
    expect(unreached.body).toMatchObject({ status: 'open', attempts: 1 });
    expect(unreached.body.nextAttemptAt).not.toBeNull();
    // The app's request timed out and it sent it again, same key: still one attempt.
    const retried = await client.post(`/v1/tasks/${survey.id}/complete`, { reached: false, note: '无人接听' }, idempotent);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'open', attempts: 1 });

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

  it('two managers completing the same call at once: one outcome is recorded, the other gets a 409', async () => {
    const manager = await task('manager-call-day-8-10');
    const [a, b] = await Promise.all([
      client.post(`/v1/tasks/${manager.id}/complete`, { reached: true, satisfied: true, promisesKept: true, csat: 4, nps: 9, contactDataCorrect: true }, { 'x-staff-id': staff['S-05'] }),
      client.post(`/v1/tasks/${manager.id}/complete`, { reached: true, satisfied: true, promisesKept: true, csat: 4, nps: 9, contactDataCorrect: true }, { 'x-staff-id': staff['S-04'] }),
    ]);
    // Either may win (the same answer, so the table below is exact either way); the loser is told, never counted.
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    expect(winner.body).toMatchObject({ status: 'done_on_time', attempts: 1, outcome: { completedById: a.status === 200 ? staff['S-05'] : staff['S-04'] } });
    expect(loser.body.error).toBe('Conflict');
  });

  it('ends the ownership through the workflow: the missed call stays missed, and the delivery records why', async () => {
    const ended = await client.post(`/v1/deliveries/${deliveryId}/end`, { reason: 'sold' });
    expect(ended.status).toBe(202);
    const delivery = await eventually('the delivery ended', async () => {
      const res = await client.get(`/v1/deliveries/${deliveryId}`);
      return res.body.status === 'ended' ? res.body : undefined;
    });
    expect(delivery.followUps.map((f: { stepKey: string; status: string }) => [f.stepKey, f.status])).toEqual([
      ['consultant-call-day-2', 'missed'], ['supervisor-call-day-4-6', 'done_late'], ['cr-satisfaction-call-day-7', 'done_late'], ['manager-call-day-8-10', 'done_on_time'],
    ]);
    expect((await client.post(`/v1/deliveries/${deliveryId}/end`, { reason: 'sold' })).status).toBe(200);
    const future = await client.post(`/v1/deliveries/${deliveryId}/end`, { reason: 'scrapped', endedAt: '2099-01-01T00:00:00Z' });
    expect(future.status).toBe(200);
  });

  it('reads back exact KPIs: recorded-late calls apart, only the survey\'s scores in CSAT and NPS', async () => {
    const from = new Date(deliveredAt.getTime() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const res = await client.get(`/v1/kpis?storeId=${STORE}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(res.status).toBe(200);
    const kpi = Object.fromEntries(res.body.kpis.map((k: { key: string }) => [k.key, k]));
    // Four calls due: day-2 missed, day 4-6 late, day-7 late (those three recorded late), day 8-10 on time with its window still open.
    // Timeliness counts calls whose window has closed and that were not recorded late: none yet.
    expect(kpi.timeliness).toMatchObject({ numerator: 0, denominator: 0, rate: null });
    // The three closed-window calls were all recorded late: how late the DMS feed is.
    expect(kpi.recordedLate).toMatchObject({ numerator: 3, denominator: 3, rate: 100 });
    // Recorded with an outcome: 3 of the 4 due (the missed one never was).
    expect(kpi.recordingCompletion).toMatchObject({ numerator: 3, denominator: 4, rate: 75 });
    // Completed 3, satisfied 2 (supervisor, manager): 2/3.
    expect(kpi.satisfaction).toMatchObject({ numerator: 2, denominator: 3, rate: 66.7 });
    // One delivery, its survey dissatisfied; booked by appointment.
    expect(kpi.deliverySatisfaction).toMatchObject({ numerator: 0, denominator: 1, rate: 0 });
    expect(kpi.appointmentRate).toMatchObject({ numerator: 1, denominator: 1, rate: 100 });
    // Promises recorded twice, both kept.
    expect(kpi.promisesKept).toMatchObject({ numerator: 1, denominator: 1, rate: 100 });
    // Contact data checked once (manager), correct.
    expect(kpi.dataAccuracy).toMatchObject({ numerator: 1, denominator: 1, rate: 100 });
    // CSAT and NPS are the survey's answer only (2 and 3): the supervisor's 5/10 and the manager's 4/9 are not survey answers.
    expect(kpi.csat).toMatchObject({ numerator: 0, denominator: 1, rate: 0, mean: 2 });
    expect(kpi.nps).toMatchObject({ score: -100, responses: 1, promoters: 0, detractors: 1 });

    const rows = await client.get(`/v1/kpis/recordedLate/rows?storeId=${STORE}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(rows.body.items).toHaveLength(3);
    expect(rows.body.items.filter((r: { inNumerator: boolean }) => r.inNumerator)).toHaveLength(3);
  });
});
