/**
 * The post-delivery satisfaction contact plan (顾客满意度联系计划, seed 004 p.81) and its schedule.
 * Plans are per-store data (OEM standards differ), so they are validated here, not hard-coded.
 * Pure: imported by workflows and by the API.
 */
import { z } from 'zod';
import { safeText } from './text';

const KebabCaseSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected kebab-case, e.g. consultant-call-day-2');
const TitleSchema = safeText(100);
const ChecklistSchema = z.array(safeText(200)).max(20);

/**
 * A plan covers the first year after delivery. Every number has a maximum: a step due in year 10000
 * would fail every delivery of the store inside its workflow instead of being refused when saved.
 */
export const MAX_PLAN_DAYS = 366;
const MAX_PLAN_MINUTES = MAX_PLAN_DAYS * 24 * 60;

/** Messages go out a number of minutes after delivery (0 = at delivery). */
const AfterDeliveryTimingSchema = z.strictObject({
  type: z.literal('after'),
  minutes: z.number().int().min(0).max(MAX_PLAN_MINUTES),
});

/**
 * Calls are due on local calendar days after the delivery date in the store's time zone: from the
 * opening of the customer's window on `fromDay` to its closing on `toDay`.
 */
const LocalDaysTimingSchema = z
  .strictObject({
    type: z.literal('days'),
    fromDay: z.number().int().min(1).max(MAX_PLAN_DAYS),
    toDay: z.number().int().min(1).max(MAX_PLAN_DAYS),
  })
  .refine((t) => t.toDay >= t.fromDay, {
    message: 'toDay must not be before fromDay',
    path: ['toDay'],
  });

/** How often to call a customer who does not answer, and how long to wait between tries. */
const CallAttemptsSchema = z.strictObject({
  max: z.number().int().min(1).max(10),
  retryAfterMinutes: z.number().int().min(1).max(7 * 24 * 60),
});
export type CallAttempts = z.infer<typeof CallAttemptsSchema>;
export const DEFAULT_CALL_ATTEMPTS: CallAttempts = { max: 3, retryAfterMinutes: 120 };

const MessageStepSchema = z.strictObject({
  key: KebabCaseSchema,
  title: TitleSchema,
  kind: z.literal('message'),
  channel: z.enum(['sms', 'email']),
  role: z.literal('system'),
  timing: AfterDeliveryTimingSchema,
  /** What the message must say, for whoever writes the template. */
  checklist: ChecklistSchema.default([]),
  template: KebabCaseSchema,
  /**
   * Minutes after delivery after which the message is pointless and is not sent (a 2-hour care SMS
   * is never sent a week late): the step is recorded as expired instead. No limit when left out.
   */
  notAfterMinutes: z.number().int().min(1).max(366 * 24 * 60).optional(),
});

const CallStepSchema = z.strictObject({
  key: KebabCaseSchema,
  title: TitleSchema,
  kind: z.literal('call'),
  channel: z.literal('phone'),
  role: z.enum(['consultant', 'supervisor', 'cr_specialist', 'manager']),
  timing: LocalDaysTimingSchema,
  /** H-2 (seed 000 p.74): the points the caller must mention. */
  checklist: ChecklistSchema.min(1),
  /** This call is the structured satisfaction survey, the source of the satisfaction KPI. */
  survey: z.boolean().optional(),
  attempts: CallAttemptsSchema.default(DEFAULT_CALL_ATTEMPTS),
  /** Made whatever happens when the survey found a problem (the manager's closing call). */
  mandatoryOnProblem: z.boolean().optional(),
});

export const PlanStepSchema = z.discriminatedUnion('kind', [MessageStepSchema, CallStepSchema]);

export const ContactPlanSchema = z
  .strictObject({ steps: z.array(PlanStepSchema).min(1).max(50) })
  .superRefine((plan, ctx) => {
    const seenKeys = new Set<string>();
    plan.steps.forEach((step, i) => {
      if (seenKeys.has(step.key)) {
        ctx.addIssue({ code: 'custom', message: `duplicate key ${step.key}`, path: ['steps', i, 'key'] });
      }
      seenKeys.add(step.key);
    });
    // One survey answer decides satisfaction (the KPI) and whether the manager call is mandatory.
    const surveyIndexes = plan.steps.flatMap((step, i) => (step.kind === 'call' && step.survey ? [i] : []));
    surveyIndexes.slice(1).forEach((i) => {
      ctx.addIssue({ code: 'custom', message: 'one survey step per plan', path: ['steps', i, 'survey'] });
    });
    if (surveyIndexes.length === 0) {
      plan.steps.forEach((step, i) => {
        if (step.kind === 'call' && step.mandatoryOnProblem) {
          ctx.addIssue({
            code: 'custom',
            message: 'mandatoryOnProblem needs a survey step to find the problem',
            path: ['steps', i, 'mandatoryOnProblem'],
          });
        }
      });
    }
  });

export type MessageStep = z.infer<typeof MessageStepSchema>;
export type CallStep = z.infer<typeof CallStepSchema>;
export type PlanStep = z.infer<typeof PlanStepSchema>;
export type ContactPlan = z.infer<typeof ContactPlanSchema>;
export type ScheduledStep = PlanStep & { dueStart: Date; dueEnd: Date };

/** The seven contact points of seed 004 p.81, with H-2 checklists (seed 000 p.73-74, 004 p.60). */
export const DEFAULT_PLAN: ContactPlan = {
  steps: [
    {
      key: 'delivery-thank-you',
      title: '交车当时感谢短信',
      kind: 'message',
      channel: 'sms',
      role: 'system',
      timing: { type: 'after', minutes: 0 },
      notAfterMinutes: 3 * 24 * 60,
      checklist: ['感谢客户购车', '确认方便接听回访的时间（H-1）', '提醒预约首次保养'],
      template: 'delivery-thank-you',
    },
    {
      key: 'delivery-farewell',
      title: '交车离去时送别短信',
      kind: 'message',
      channel: 'sms',
      role: 'system',
      timing: { type: 'after', minutes: 30 },
      notAfterMinutes: 24 * 60,
      checklist: ['附销售顾问名片及联系方式', '告知售后服务联系方式'],
      template: 'delivery-farewell',
    },
    {
      key: 'delivery-care-2h',
      title: '交车后二小时关怀短信',
      kind: 'message',
      channel: 'sms',
      role: 'system',
      timing: { type: 'after', minutes: 120 },
      notAfterMinutes: 12 * 60,
      checklist: ['以销售顾问名义发送', '询问是否平安到家', '询问用车有无疑问'],
      template: 'delivery-care-2h',
    },
    {
      key: 'consultant-call-day-2',
      title: '交车后二日销售顾问电访',
      kind: 'call',
      channel: 'phone',
      role: 'consultant',
      timing: { type: 'days', fromDay: 2, toDay: 2 },
      checklist: [
        '询问车辆使用情况',
        '解答用车疑问，再次讲解车辆功能',
        '确认首次保养预约',
        '核对客户联系信息（I-2）',
      ],
      attempts: DEFAULT_CALL_ATTEMPTS,
    },
    {
      key: 'supervisor-call-day-4-6',
      title: '四~六日销售主管电访',
      kind: 'call',
      channel: 'phone',
      role: 'supervisor',
      timing: { type: 'days', fromDay: 4, toDay: 6 },
      checklist: ['确认销售顾问的承诺已兑现', '询问交车及用车有无问题', '发现问题及时记录并跟进'],
      attempts: DEFAULT_CALL_ATTEMPTS,
    },
    {
      key: 'cr-satisfaction-call-day-7',
      title: '七日顾客关系专员满意度电访',
      kind: 'call',
      channel: 'phone',
      role: 'cr_specialist',
      timing: { type: 'days', fromDay: 7, toDay: 7 },
      checklist: [
        '按满意度问卷逐项询问',
        '询问是否完全满意（期望5）',
        '不满意或抱怨立即升级处理（期望6）',
        '核对客户联系信息（I-2）',
      ],
      survey: true,
      attempts: DEFAULT_CALL_ATTEMPTS,
    },
    {
      key: 'manager-call-day-8-10',
      title: '八~十日销售经理电访',
      kind: 'call',
      channel: 'phone',
      role: 'manager',
      timing: { type: 'days', fromDay: 8, toDay: 10 },
      checklist: ['感谢客户并回顾满意度电访结果', '跟进已发现问题的处理进度', '确认所有承诺已兑现'],
      attempts: DEFAULT_CALL_ATTEMPTS,
      mandatoryOnProblem: true,
    },
  ],
};

export { rescheduleCall, schedulePlan } from './schedule';
