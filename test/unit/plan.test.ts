import { ContactWindow, DEFAULT_CUSTOMER_WINDOW } from '../../src/domain/contact-window';
import {
  ContactPlan,
  ContactPlanSchema,
  DEFAULT_CALL_ATTEMPTS,
  DEFAULT_PLAN,
  PlanStepSchema,
  rescheduleCall,
  schedulePlan,
  ScheduledStep,
} from '../../src/domain/plan';

// Asia/Shanghai is UTC+8 all year; Berlin changes to CEST (UTC+2) on 2025-03-30; New York
// returns to EST (UTC-5) on 2025-11-02. Expected instants below are converted by hand.
const SHANGHAI = 'Asia/Shanghai';
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';

// Indexes of DEFAULT_PLAN's steps, in the order of seed 004 p.81.
const THANK_YOU = 0;
const FAREWELL = 1;
const CARE_SMS = 2;
const CONSULTANT_CALL = 3;
const SUPERVISOR_CALL = 4;
const SURVEY_CALL = 5;
const MANAGER_CALL = 6;

type RawStep = Record<string, unknown>;

/** DEFAULT_PLAN as raw input, with one step edited the way a store admin might get it wrong. */
function defaultPlanWith(index: number, edit: (step: RawStep) => void): { steps: RawStep[] } {
  const steps = structuredClone(DEFAULT_PLAN.steps) as RawStep[];
  edit(steps[index]);
  return { steps };
}

function issuePaths(input: unknown): string[] {
  const result = ContactPlanSchema.safeParse(input);
  if (result.success) throw new Error('expected the plan to be rejected');
  return result.error.issues.map((issue) => issue.path.join('.'));
}

function schedule(deliveredAt: string, timeZone: string, customerWindow = DEFAULT_CUSTOMER_WINDOW) {
  return schedulePlan({ plan: DEFAULT_PLAN, deliveredAt: new Date(deliveredAt), timeZone, customerWindow });
}

function dueTimes(steps: ScheduledStep[]): Record<string, { dueStart: string; dueEnd: string }> {
  return Object.fromEntries(
    steps.map((s) => [s.key, { dueStart: s.dueStart.toISOString(), dueEnd: s.dueEnd.toISOString() }]),
  );
}

function dueOf(steps: ScheduledStep[], key: string): { dueStart: string; dueEnd: string } {
  return dueTimes(steps)[key];
}

describe('DEFAULT_PLAN', () => {
  it('parses with ContactPlanSchema unchanged', () => {
    expect(ContactPlanSchema.parse(DEFAULT_PLAN)).toEqual(DEFAULT_PLAN);
  });

  it('has the seven contact points of seed 004 p.81, in order', () => {
    const summary = DEFAULT_PLAN.steps.map((s) => [s.key, s.kind, s.role, s.channel, s.timing]);
    expect(summary).toEqual([
      ['delivery-thank-you', 'message', 'system', 'sms', { type: 'after', minutes: 0 }],
      ['delivery-farewell', 'message', 'system', 'sms', { type: 'after', minutes: 30 }],
      ['delivery-care-2h', 'message', 'system', 'sms', { type: 'after', minutes: 120 }],
      ['consultant-call-day-2', 'call', 'consultant', 'phone', { type: 'days', fromDay: 2, toDay: 2 }],
      ['supervisor-call-day-4-6', 'call', 'supervisor', 'phone', { type: 'days', fromDay: 4, toDay: 6 }],
      ['cr-satisfaction-call-day-7', 'call', 'cr_specialist', 'phone', { type: 'days', fromDay: 7, toDay: 7 }],
      ['manager-call-day-8-10', 'call', 'manager', 'phone', { type: 'days', fromDay: 8, toDay: 10 }],
    ]);
  });

  it('sends its messages with the delivery templates', () => {
    const templates = DEFAULT_PLAN.steps.flatMap((step) => (step.kind === 'message' ? [step.template] : []));
    expect(templates).toEqual(['delivery-thank-you', 'delivery-farewell', 'delivery-care-2h']);
  });

  it('gives every call an H-2 checklist in Chinese', () => {
    const calls = DEFAULT_PLAN.steps.filter((step) => step.kind === 'call');
    expect(calls).toHaveLength(4);
    for (const call of calls) {
      expect(call.checklist.length).toBeGreaterThan(0);
      for (const point of call.checklist) expect(point).toMatch(/\p{Script=Han}/u);
    }
  });

  it('makes the day-7 CR call the one survey, and the manager call mandatory when it finds a problem', () => {
    const surveys = DEFAULT_PLAN.steps.filter((step) => step.kind === 'call' && step.survey);
    expect(surveys.map((step) => step.key)).toEqual(['cr-satisfaction-call-day-7']);
    const mandatory = DEFAULT_PLAN.steps.filter((step) => step.kind === 'call' && step.mandatoryOnProblem);
    expect(mandatory.map((step) => step.role)).toEqual(['manager']);
  });
});

describe('ContactPlanSchema', () => {
  it('a plan whose call step has no checklist is rejected naming steps.3.checklist', () => {
    expect(issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => (s.checklist = [])))).toEqual(['steps.3.checklist']);
    expect(issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => delete s.checklist))).toEqual(['steps.3.checklist']);
  });

  it('a checklist point that is blank is rejected naming it', () => {
    expect(issuePaths(defaultPlanWith(SUPERVISOR_CALL, (s) => (s.checklist = ['确认承诺', '  '])))).toEqual([
      'steps.4.checklist.1',
    ]);
  });

  it('a message without a template is rejected naming steps.0.template', () => {
    expect(issuePaths(defaultPlanWith(THANK_YOU, (s) => delete s.template))).toEqual(['steps.0.template']);
  });

  it('a call cannot go by SMS: steps.3.channel', () => {
    expect(issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => (s.channel = 'sms')))).toEqual(['steps.3.channel']);
  });

  it('a message cannot go by phone: steps.1.channel', () => {
    expect(issuePaths(defaultPlanWith(FAREWELL, (s) => (s.channel = 'phone')))).toEqual(['steps.1.channel']);
  });

  it('messages are sent by the system, not by a consultant: steps.2.role', () => {
    expect(issuePaths(defaultPlanWith(CARE_SMS, (s) => (s.role = 'consultant')))).toEqual(['steps.2.role']);
  });

  it('calls are made by a person, not by the system: steps.3.role', () => {
    expect(issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => (s.role = 'system')))).toEqual(['steps.3.role']);
  });

  it('a step of an unknown kind is rejected naming steps.0.kind', () => {
    expect(issuePaths(defaultPlanWith(THANK_YOU, (s) => (s.kind = 'visit')))).toEqual(['steps.0.kind']);
  });

  it('calls are due on local days, not minutes after delivery: steps.3.timing.type', () => {
    const paths = issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => (s.timing = { type: 'after', minutes: 120 })));
    expect(paths).toContain('steps.3.timing.type');
  });

  it('messages go out minutes after delivery, not on local days: steps.1.timing.type', () => {
    const paths = issuePaths(defaultPlanWith(FAREWELL, (s) => (s.timing = { type: 'days', fromDay: 1, toDay: 1 })));
    expect(paths).toContain('steps.1.timing.type');
  });

  it('a message cannot go out before the delivery: steps.1.timing.minutes', () => {
    const paths = issuePaths(defaultPlanWith(FAREWELL, (s) => (s.timing = { type: 'after', minutes: -5 })));
    expect(paths).toEqual(['steps.1.timing.minutes']);
  });

  it('a call window of days 6 to 4 is rejected naming steps.4.timing.toDay', () => {
    const plan = defaultPlanWith(SUPERVISOR_CALL, (s) => (s.timing = { type: 'days', fromDay: 6, toDay: 4 }));
    expect(issuePaths(plan)).toEqual(['steps.4.timing.toDay']);
  });

  it('day 0 (the delivery day) is not a follow-up day: steps.3.timing.fromDay', () => {
    const plan = defaultPlanWith(CONSULTANT_CALL, (s) => (s.timing = { type: 'days', fromDay: 0, toDay: 2 }));
    expect(issuePaths(plan)).toEqual(['steps.3.timing.fromDay']);
  });

  it('more than 10 call attempts is rejected naming steps.3.attempts.max', () => {
    const plan = defaultPlanWith(CONSULTANT_CALL, (s) => (s.attempts = { max: 11, retryAfterMinutes: 60 }));
    expect(issuePaths(plan)).toEqual(['steps.3.attempts.max']);
  });

  it('a step key that is not kebab-case is rejected naming steps.3.key', () => {
    expect(issuePaths(defaultPlanWith(CONSULTANT_CALL, (s) => (s.key = 'Day2Call')))).toEqual(['steps.3.key']);
  });

  it('a repeated step key is rejected at its second use: steps.6.key', () => {
    const plan = defaultPlanWith(MANAGER_CALL, (s) => (s.key = 'consultant-call-day-2'));
    expect(issuePaths(plan)).toEqual(['steps.6.key']);
  });

  it('a second survey step is rejected naming steps.6.survey', () => {
    expect(issuePaths(defaultPlanWith(MANAGER_CALL, (s) => (s.survey = true)))).toEqual(['steps.6.survey']);
  });

  it('a manager call mandatory on a problem needs a survey to find one: steps.6.mandatoryOnProblem', () => {
    expect(issuePaths(defaultPlanWith(SURVEY_CALL, (s) => delete s.survey))).toEqual(['steps.6.mandatoryOnProblem']);
  });

  it('a survey flag on a message is an unknown field of steps.0, not silently dropped', () => {
    const result = ContactPlanSchema.safeParse(defaultPlanWith(THANK_YOU, (s) => (s.survey = true)));
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['survey'], path: ['steps', 0] }),
    ]);
  });

  it('a plan without steps is rejected naming steps', () => {
    expect(issuePaths({ steps: [] })).toEqual(['steps']);
  });

  it('an unanswered call is tried 3 times, 120 minutes apart, unless the plan says otherwise', () => {
    const step = PlanStepSchema.parse({
      key: 'service-call',
      title: '维修后三日回访',
      kind: 'call',
      channel: 'phone',
      role: 'cr_specialist',
      timing: { type: 'days', fromDay: 1, toDay: 3 },
      checklist: ['询问维修后是否完全满意'],
    });
    expect(step).toMatchObject({ attempts: { max: 3, retryAfterMinutes: 120 } });
    expect(DEFAULT_CALL_ATTEMPTS).toEqual({ max: 3, retryAfterMinutes: 120 });
  });

  it('a message needs no checklist', () => {
    const step = PlanStepSchema.parse({
      key: 'service-thank-you',
      title: '维修感谢短信',
      kind: 'message',
      channel: 'email',
      role: 'system',
      timing: { type: 'after', minutes: 0 },
      template: 'service-thank-you',
    });
    expect(step.checklist).toEqual([]);
  });
});

describe('schedulePlan', () => {
  it('schedules a 14:00 Shanghai delivery: messages that afternoon, calls inside 09:00-20:00 on their days', () => {
    // Delivered 2025-06-03 14:00 CST (06:00 UTC); local 09:00-20:00 is 01:00-12:00 UTC.
    expect(dueTimes(schedule('2025-06-03T06:00:00Z', SHANGHAI))).toEqual({
      'delivery-thank-you': { dueStart: '2025-06-03T06:00:00.000Z', dueEnd: '2025-06-03T07:00:00.000Z' },
      'delivery-farewell': { dueStart: '2025-06-03T06:30:00.000Z', dueEnd: '2025-06-03T07:30:00.000Z' },
      'delivery-care-2h': { dueStart: '2025-06-03T08:00:00.000Z', dueEnd: '2025-06-03T09:00:00.000Z' },
      'consultant-call-day-2': { dueStart: '2025-06-05T01:00:00.000Z', dueEnd: '2025-06-05T12:00:00.000Z' },
      'supervisor-call-day-4-6': { dueStart: '2025-06-07T01:00:00.000Z', dueEnd: '2025-06-09T12:00:00.000Z' },
      'cr-satisfaction-call-day-7': { dueStart: '2025-06-10T01:00:00.000Z', dueEnd: '2025-06-10T12:00:00.000Z' },
      'manager-call-day-8-10': { dueStart: '2025-06-11T01:00:00.000Z', dueEnd: '2025-06-13T12:00:00.000Z' },
    });
  });

  it('a delivery at 19:50 Shanghai time gets its 2-hour care SMS at 09:00 the next morning', () => {
    const steps = schedule('2025-06-03T11:50:00Z', SHANGHAI);
    expect(dueOf(steps, 'delivery-thank-you').dueStart).toBe('2025-06-03T11:50:00.000Z');
    expect(dueOf(steps, 'delivery-farewell').dueStart).toBe('2025-06-04T01:00:00.000Z');
    expect(dueOf(steps, 'delivery-care-2h')).toEqual({
      dueStart: '2025-06-04T01:00:00.000Z',
      dueEnd: '2025-06-04T02:00:00.000Z',
    });
  });

  it("counts call days on the store's calendar: a delivery at 00:30 on 4 June Shanghai time calls on 6 June", () => {
    // 00:30 CST on 4 June is still 3 June in UTC.
    const steps = schedule('2025-06-03T16:30:00Z', SHANGHAI);
    expect(dueOf(steps, 'consultant-call-day-2')).toEqual({
      dueStart: '2025-06-06T01:00:00.000Z',
      dueEnd: '2025-06-06T12:00:00.000Z',
    });
  });

  it('keeps the plan order for messages that wait for the same morning', () => {
    const steps = schedule('2025-06-03T16:30:00Z', SHANGHAI);
    expect(steps.slice(0, 3).map((s) => [s.key, s.dueStart.toISOString()])).toEqual([
      ['delivery-thank-you', '2025-06-04T01:00:00.000Z'],
      ['delivery-farewell', '2025-06-04T01:00:00.000Z'],
      ['delivery-care-2h', '2025-06-04T01:00:00.000Z'],
    ]);
  });

  it("sends service messages inside the customer's own window, even after the 08:00-21:00 marketing hours", () => {
    // Customer accepts 10:00-22:00; delivered 2025-06-03 20:40 CST (12:40 UTC).
    const steps = schedule('2025-06-03T12:40:00Z', SHANGHAI, { start: '10:00', end: '22:00' });
    expect(dueOf(steps, 'delivery-thank-you').dueStart).toBe('2025-06-03T12:40:00.000Z');
    // 21:10 is after marketing hours but inside this customer's window: a service notice goes now.
    expect(dueOf(steps, 'delivery-farewell').dueStart).toBe('2025-06-03T13:10:00.000Z');
    expect(dueOf(steps, 'consultant-call-day-2')).toEqual({
      dueStart: '2025-06-05T02:00:00.000Z',
      dueEnd: '2025-06-05T14:00:00.000Z',
    });
  });

  it('a customer who takes contact only at night 22:00-06:00 gets messages and calls at night', () => {
    // Delivered 2025-06-03 14:00 CST (06:00 UTC): the thank-you waits for 22:00 CST (14:00 UTC).
    const steps = schedule('2025-06-03T06:00:00Z', SHANGHAI, { start: '22:00', end: '06:00' });
    expect(dueOf(steps, 'delivery-thank-you').dueStart).toBe('2025-06-03T14:00:00.000Z');
    expect(dueOf(steps, 'consultant-call-day-2')).toEqual({
      dueStart: '2025-06-05T14:00:00.000Z',
      dueEnd: '2025-06-05T22:00:00.000Z',
    });
    // Days 4-6: from 22:00 on 7 June to 06:00 on 10 June, when day 6's night ends.
    expect(dueOf(steps, 'supervisor-call-day-4-6')).toEqual({
      dueStart: '2025-06-07T14:00:00.000Z',
      dueEnd: '2025-06-09T22:00:00.000Z',
    });
  });

  it("a Berlin store's day-2 call window survives the DST change", () => {
    // Delivered Friday 2025-03-28 15:00 CET (14:00 UTC); day 2 is Sunday 30 March, now CEST.
    const steps = schedule('2025-03-28T14:00:00Z', BERLIN);
    expect(dueOf(steps, 'consultant-call-day-2')).toEqual({
      dueStart: '2025-03-30T07:00:00.000Z',
      dueEnd: '2025-03-30T18:00:00.000Z',
    });
    expect(dueOf(steps, 'supervisor-call-day-4-6')).toEqual({
      dueStart: '2025-04-01T07:00:00.000Z',
      dueEnd: '2025-04-03T18:00:00.000Z',
    });
  });

  it("a New York store's day-2 call falls on the Sunday clocks go back, at 09:00 EST", () => {
    // Delivered Friday 2025-10-31 18:00 EDT (22:00 UTC).
    const steps = schedule('2025-10-31T22:00:00Z', NEW_YORK);
    expect(dueOf(steps, 'consultant-call-day-2')).toEqual({
      dueStart: '2025-11-02T14:00:00.000Z',
      dueEnd: '2025-11-03T01:00:00.000Z',
    });
    // 20:00 EDT is closing time: the care SMS waits for Saturday 09:00 EDT.
    expect(dueOf(steps, 'delivery-care-2h').dueStart).toBe('2025-11-01T13:00:00.000Z');
  });

  it('returns steps sorted by when they are due, whatever the plan order', () => {
    const { steps: defaults } = DEFAULT_PLAN;
    const plan: ContactPlan = { steps: [defaults[MANAGER_CALL], defaults[CONSULTANT_CALL], defaults[CARE_SMS]] };
    const steps = schedulePlan({
      plan,
      deliveredAt: new Date('2025-06-03T06:00:00Z'),
      timeZone: SHANGHAI,
      customerWindow: DEFAULT_CUSTOMER_WINDOW,
    });
    expect(steps.map((s) => s.key)).toEqual(['delivery-care-2h', 'consultant-call-day-2', 'manager-call-day-8-10']);
  });

  it('carries each step whole, so a task shows its checklist and role', () => {
    const steps = schedule('2025-06-03T06:00:00Z', SHANGHAI);
    const supervisorCall = steps.find((s) => s.key === 'supervisor-call-day-4-6');
    expect(supervisorCall).toMatchObject(DEFAULT_PLAN.steps[SUPERVISOR_CALL]);
  });

  it('is pure: the same input gives the same schedule and nothing passed in is changed', () => {
    const plan = structuredClone(DEFAULT_PLAN);
    const deliveredAt = new Date('2025-06-03T06:00:00Z');
    const customerWindow = { start: '10:00', end: '22:00' };
    const input = { plan, deliveredAt, timeZone: SHANGHAI, customerWindow };
    const first = schedulePlan(input);
    expect(schedulePlan(input)).toEqual(first);
    expect(plan).toEqual(DEFAULT_PLAN);
    expect(deliveredAt.toISOString()).toBe('2025-06-03T06:00:00.000Z');
    expect(customerWindow).toEqual({ start: '10:00', end: '22:00' });
  });

  it('refuses an unknown time zone', () => {
    expect(() => schedule('2025-06-03T06:00:00Z', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('rescheduleCall', () => {
  const reschedule = (requestedAt: string, customerWindow: ContactWindow = DEFAULT_CUSTOMER_WINDOW) =>
    rescheduleCall({ requestedAt: new Date(requestedAt), customerWindow, timeZone: SHANGHAI }).toISOString();

  it('a customer who asks to be called tomorrow at 10:00 is called then', () => {
    expect(reschedule('2025-06-04T02:00:00Z')).toBe('2025-06-04T02:00:00.000Z');
  });

  it('a request for 07:30 waits for the window to open at 09:00', () => {
    expect(reschedule('2025-06-03T23:30:00Z')).toBe('2025-06-04T01:00:00.000Z');
  });

  it('a request for 21:00 moves to 09:00 the next morning', () => {
    expect(reschedule('2025-06-04T13:00:00Z')).toBe('2025-06-05T01:00:00.000Z');
  });

  it('a night-shift customer asking for noon is called at 22:00', () => {
    expect(reschedule('2025-06-04T04:00:00Z', { start: '22:00', end: '06:00' })).toBe('2025-06-04T14:00:00.000Z');
  });
});
