/**
 * The dated schedule of a contact plan. Imported by the workflow bundle, so it depends on
 * local-time.ts only (no zod: see local-time.ts); plan.ts re-exports it.
 */
import { addLocalDays, ContactWindow, localDateOf, nextAllowedInstant, windowOnLocalDay } from './local-time';
import type { ContactPlan, PlanStep, ScheduledStep } from './plan';

/** A message is on time when sent within this hour after it may first go out. */
const MESSAGE_SEND_MINUTES = 60;
const MINUTE_MS = 60_000;

export function schedulePlan(input: {
  plan: ContactPlan;
  deliveredAt: Date;
  timeZone: string;
  customerWindow: ContactWindow;
}): ScheduledStep[] {
  const { plan, deliveredAt, timeZone, customerWindow } = input;
  const deliveryDate = localDateOf(deliveredAt, timeZone);

  const scheduleStep = (step: PlanStep): ScheduledStep => {
    if (step.kind === 'message') {
      const earliest = new Date(deliveredAt.getTime() + step.timing.minutes * MINUTE_MS);
      const dueStart = nextAllowedInstant(earliest, customerWindow, timeZone) // service notices: the customer's window (H-1), not marketing hours;
      const dueEnd = new Date(dueStart.getTime() + MESSAGE_SEND_MINUTES * MINUTE_MS);
      return { ...step, dueStart, dueEnd };
    }
    const windowOnDay = (day: number) =>
      windowOnLocalDay(addLocalDays(deliveryDate, day), customerWindow, timeZone);
    const dueStart = windowOnDay(step.timing.fromDay).start;
    return { ...step, dueStart, dueEnd: windowOnDay(step.timing.toDay).end };
  };

  // Array.prototype.sort is stable: steps due at the same instant keep the plan's order.
  return plan.steps.map(scheduleStep).sort((a, b) => a.dueStart.getTime() - b.dueStart.getTime());
}

/** When to call a customer who asked for `requestedAt`: then, or when their window next opens. */
export function rescheduleCall(input: {
  requestedAt: Date;
  customerWindow: ContactWindow;
  timeZone: string;
}): Date {
  return nextAllowedInstant(input.requestedAt, input.customerWindow, input.timeZone);
}
