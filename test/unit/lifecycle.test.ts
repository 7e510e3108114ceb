import {
  applyContactWindow,
  initialLifecycleState,
  LifecycleInput,
  messageStillTimely,
  missedAt,
  MISSED_AFTER_MS,
  requestedTimeProblem,
  unfinishedCallStatus,
} from '../../src/domain/lifecycle';
import { DEFAULT_PLAN } from '../../src/domain/plan';

const input: LifecycleInput = {
  deliveryId: 'd-1',
  storeId: 's-1',
  timeZone: 'Asia/Shanghai',
  deliveredAt: '2026-03-01T02:00:00.000Z', // 10:00 in Shanghai
  customerWindow: { start: '09:00', end: '20:00' },
  plan: { id: 'p-1', version: 1, steps: DEFAULT_PLAN.steps },
};
const DAY2_CALL_END = '2026-03-03T12:00:00.000Z'; // day 2, 20:00 in Shanghai

describe('the lifecycle state rules', () => {
  it('a new contact window reschedules only the steps not yet opened; open steps keep their required window', () => {
    const state = initialLifecycleState(input);
    const day2 = state.steps.find((s) => s.key === 'consultant-call-day-2')!;
    const day4 = state.steps.find((s) => s.key === 'supervisor-call-day-4-6')!;
    day2.status = 'open';
    applyContactWindow(state, input, { start: '18:00', end: '21:00' });
    expect(state.customerWindow).toEqual({ start: '18:00', end: '21:00' });
    expect(day2.dueEnd).toBe(DAY2_CALL_END);
    expect([day4.dueStart, day4.dueEnd]).toEqual(['2026-03-05T10:00:00.000Z', '2026-03-07T13:00:00.000Z']);
  });

  it('an unfinished call is missed once its window has closed, also when the ownership ends after that', () => {
    const step = { dueEnd: DAY2_CALL_END };
    const afterWindow = new Date(Date.parse(DAY2_CALL_END) + 60_000);
    const insideWindow = new Date(Date.parse(DAY2_CALL_END) - 60_000);
    expect(unfinishedCallStatus(step, false, afterWindow)).toBe('missed');
    expect(unfinishedCallStatus(step, true, afterWindow)).toBe('missed');
    expect(unfinishedCallStatus(step, true, insideWindow)).toBe('cancelled');
    expect(missedAt(step)).toBe(Date.parse(DAY2_CALL_END) + MISSED_AFTER_MS);
  });

  it('a message is timely until its "not after", and always when the plan gives it none', () => {
    const delivered = Date.parse(input.deliveredAt);
    expect(messageStillTimely({ notAfterMinutes: 720 }, input.deliveredAt, delivered + 720 * 60_000)).toBe(true);
    expect(messageStillTimely({ notAfterMinutes: 720 }, input.deliveredAt, delivered + 721 * 60_000)).toBe(false);
    expect(messageStillTimely({}, input.deliveredAt, delivered + 3650 * 24 * 3600_000)).toBe(true);
  });

  it('a requested call time must be neither in the past nor after the task is closed as missed', () => {
    const step = { dueEnd: DAY2_CALL_END };
    const now = new Date('2026-03-03T02:00:00.000Z');
    expect(requestedTimeProblem(step, new Date('2026-03-04T02:00:00.000Z'), now)).toBeNull();
    expect(requestedTimeProblem(step, new Date(now.getTime() - 30_000), now)).toBeNull();
    expect(requestedTimeProblem(step, new Date(now.getTime() - 5 * 60_000), now)).toBe('must not be in the past');
    expect(requestedTimeProblem(step, new Date('9999-12-31T00:00:00.000Z'), now)).toMatch(/before the task is closed as missed/);
  });
});
