import { z } from 'zod';
import { MARKETING_OPT_OUT_SUFFIX } from './sms-segments';

export const LocaleSchema = z.enum(['zh-CN', 'en']);
export type Locale = z.infer<typeof LocaleSchema>;

// `{{ name }}` with optional inner spaces; names are identifiers so they read the same in code.
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;
const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const TEXT_FIELDS = ['subject', 'body', 'html'] as const;

const TemplateFieldsSchema = z.object({
  key: z.string().min(1),
  locale: LocaleSchema,
  channel: z.enum(['sms', 'email']),
  purpose: z.enum(['service', 'marketing']),
  subject: z.string().min(1).optional(),
  body: z.string().min(1),
  html: z.string().min(1).optional(),
  variables: z.array(z.string().regex(VARIABLE_NAME, 'variable names are identifiers such as customerName')),
});
type TemplateFields = z.infer<typeof TemplateFieldsSchema>;

/** Field rules plus cross-field ones: the channel decides subject/html, every placeholder must be declared. */
export const TemplateSchema = TemplateFieldsSchema.superRefine((template, ctx) => {
  for (const problem of [...channelProblems(template), ...placeholderProblems(template)]) {
    ctx.addIssue({ code: 'custom', ...problem });
  }
});
export type Template = z.infer<typeof TemplateSchema>;

export interface TemplateProblem {
  /** Dotted path of the offending field, e.g. `body` or `variables.2`. */
  field: string;
  message: string;
}

export interface RenderedMessage {
  subject?: string;
  body: string;
  html?: string;
}

/** A declared variable had no value, so the message would go out with a hole in it. */
export class TemplateVariableMissingError extends Error {
  override readonly name = 'TemplateVariableMissingError';

  constructor(
    readonly templateKey: string,
    readonly missing: readonly string[],
  ) {
    super(`template ${templateKey} is missing values for: ${missing.join(', ')}`);
  }
}

/** Errors make the template unusable; warnings (declared but unused variables) do not. */
export function validateTemplate(input: unknown): { errors: TemplateProblem[]; warnings: TemplateProblem[] } {
  const parsed = TemplateSchema.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
    return { errors, warnings: [] };
  }
  return { errors: [], warnings: unusedVariableWarnings(parsed.data) };
}

/**
 * Fills the placeholders. Values are HTML-escaped in `html` only; marketing SMS get the
 * locale's opt-out hint, because carriers and customers expect a way out of every promotion.
 */
export function renderTemplate(input: Template, vars: Readonly<Record<string, string>>): RenderedMessage {
  const template = TemplateSchema.parse(input);
  const missing = template.variables.filter((name) => !vars[name]?.trim());
  if (missing.length > 0) throw new TemplateVariableMissingError(template.key, missing);

  const fill = (text: string, escape: (value: string) => string) =>
    text.replace(PLACEHOLDER, (_match, name: string) => escape(vars[name] as string));
  const asIs = (value: string) => value;
  const body = fill(template.body, asIs);
  return {
    ...(template.subject !== undefined && { subject: fill(template.subject, asIs) }),
    body: needsOptOutHint(template) ? body + MARKETING_OPT_OUT_SUFFIX[template.locale] : body,
    ...(template.html !== undefined && { html: fill(template.html, escapeHtml) }),
  };
}

function needsOptOutHint(template: Template): boolean {
  return template.channel === 'sms' && template.purpose === 'marketing';
}

type Problem = { path: string[]; message: string };

function channelProblems(template: TemplateFields): Problem[] {
  if (template.channel === 'email') {
    return template.subject === undefined ? [{ path: ['subject'], message: 'an email template needs a subject' }] : [];
  }
  return (['subject', 'html'] as const)
    .filter((field) => template[field] !== undefined)
    .map((field) => ({ path: [field], message: `an SMS template has no ${field}` }));
}

function placeholderProblems(template: TemplateFields): Problem[] {
  const declared = new Set(template.variables);
  return TEXT_FIELDS.flatMap((field) => {
    const text = template[field];
    if (text === undefined) return [];
    const undeclared = [...new Set(placeholdersIn(text))].filter((name) => !declared.has(name));
    const problems = undeclared.map((name) => ({
      path: [field],
      message: `placeholder {{${name}}} is not declared in variables`,
    }));
    if (/\{\{|\}\}/.test(text.replace(PLACEHOLDER, ''))) {
      problems.push({ path: [field], message: 'malformed placeholder; write {{variableName}}' });
    }
    return problems;
  });
}

function unusedVariableWarnings(template: Template): TemplateProblem[] {
  const used = new Set(TEXT_FIELDS.flatMap((field) => placeholdersIn(template[field] ?? '')));
  return template.variables.flatMap((name, index) =>
    used.has(name) ? [] : [{ field: `variables.${index}`, message: `variable ${name} is declared but never used` }],
  );
}

function placeholdersIn(text: string): string[] {
  return Array.from(text.matchAll(PLACEHOLDER), (match) => match[1] as string);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string);
}

/**
 * The values the send activity fills in, with a sample of each per locale. A template may declare
 * only these: a variable nothing provides would fail every send, so it is refused when saved.
 */
export const TEMPLATE_VARIABLE_SAMPLES: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  'zh-CN': {
    customerName: '王女士',
    storeName: '汇方汽车浦东店',
    consultantName: '李明',
    consultantPhone: '139 0000 1111',
    serviceHotline: '400 800 1234',
    vehicleModel: 'Model Y',
  },
  en: {
    customerName: 'Ms Wang',
    storeName: 'Huifang Motors Pudong',
    consultantName: 'Li Ming',
    consultantPhone: '+86 139 0000 1111',
    serviceHotline: '+86 400 800 1234',
    vehicleModel: 'Model Y',
  },
};
export const TEMPLATE_VARIABLES: readonly string[] = Object.keys(TEMPLATE_VARIABLE_SAMPLES['zh-CN']);

/** Declared variables that the send activity does not provide, by their field (`variables.<i>`). */
export function unsupportedVariableProblems(variables: readonly string[]): TemplateProblem[] {
  return variables.flatMap((name, index) =>
    TEMPLATE_VARIABLES.includes(name)
      ? []
      : [{ field: `variables.${index}`, message: `no value is provided for ${name}; use one of ${TEMPLATE_VARIABLES.join(', ')}` }],
  );
}

/**
 * The template a customer gets: the store's own in their language, the built-in one in their
 * language, then the same two in Chinese (the default locale).
 */
export function pickTemplate(
  storeTemplates: readonly Template[],
  wanted: { key: string; channel: Template['channel']; locale: Locale },
): Template | undefined {
  const matching = (list: readonly Template[], locale: Locale) =>
    list.find((t) => t.key === wanted.key && t.channel === wanted.channel && t.locale === locale);
  const locales: Locale[] = wanted.locale === 'zh-CN' ? ['zh-CN'] : [wanted.locale, 'zh-CN'];
  for (const locale of locales) {
    const found = matching(storeTemplates, locale) ?? matching(DEFAULT_TEMPLATES, locale);
    if (found) return found;
  }
  return undefined;
}

const DELIVERY_VARIABLES = ['customerName', 'storeName', 'consultantName', 'vehicleModel'];

/** Messages around handing over a new car; all are service messages, not marketing. */
export const DEFAULT_TEMPLATES: readonly Template[] = [
  {
    key: 'delivery-thank-you',
    locale: 'zh-CN',
    channel: 'sms',
    purpose: 'service',
    body:
      '【{{storeName}}】{{customerName}}您好！恭喜您喜提{{vehicleModel}}，衷心感谢您对我们的信任与支持。' +
      '我是您的专属顾问{{consultantName}}，今后用车有任何需要，随时联系我。祝您用车愉快，出行平安！',
    variables: DELIVERY_VARIABLES,
  },
  {
    key: 'delivery-thank-you',
    locale: 'en',
    channel: 'sms',
    purpose: 'service',
    body:
      'Dear {{customerName}}, congratulations on your new {{vehicleModel}} and thank you for choosing {{storeName}}. ' +
      "I'm {{consultantName}}, your consultant: whenever you need anything, I'm here to help. Safe travels!",
    variables: DELIVERY_VARIABLES,
  },
  {
    key: 'delivery-farewell',
    locale: 'zh-CN',
    channel: 'sms',
    purpose: 'service',
    body:
      '【{{storeName}}】您好，我是您的销售顾问{{consultantName}}，很荣幸陪您完成提车。' +
      '请存下我的电话{{consultantPhone}}，用车上有任何问题都可以直接找我；' +
      '保养、维修或道路救援，请拨打服务热线{{serviceHotline}}。期待再次为您服务！',
    variables: ['consultantName', 'consultantPhone', 'storeName', 'serviceHotline'],
  },
  {
    key: 'delivery-farewell',
    locale: 'en',
    channel: 'sms',
    purpose: 'service',
    body:
      "Hello, it's {{consultantName}}, your consultant at {{storeName}}. It was a pleasure handing over your car. " +
      'Please save my number, {{consultantPhone}}, for any question. ' +
      'For servicing, repairs or roadside assistance, call our hotline {{serviceHotline}}.',
    variables: ['consultantName', 'consultantPhone', 'storeName', 'serviceHotline'],
  },
  {
    key: 'delivery-care-2h',
    locale: 'zh-CN',
    channel: 'sms',
    purpose: 'service',
    body:
      '【{{storeName}}】{{customerName}}您好，我是{{consultantName}}。您平安到家了吧？新车开着还顺手吗？' +
      '用车上有任何疑问，直接回复短信或给我打电话都可以。',
    variables: ['customerName', 'consultantName', 'storeName'],
  },
  {
    key: 'delivery-care-2h',
    locale: 'en',
    channel: 'sms',
    purpose: 'service',
    body:
      "Hi {{customerName}}, it's {{consultantName}} from {{storeName}}. Did you get home safely? " +
      'If you have any questions about the new car, just reply or give me a call.',
    variables: ['customerName', 'consultantName', 'storeName'],
  },
  {
    key: 'delivery-thank-you',
    locale: 'zh-CN',
    channel: 'email',
    purpose: 'service',
    subject: '感谢您选择{{storeName}}，祝您用车愉快',
    body:
      '{{customerName}}您好：\n\n' +
      '恭喜您喜提{{vehicleModel}}！衷心感谢您选择{{storeName}}，感谢您对我们的信任。\n\n' +
      '我是您的专属顾问{{consultantName}}。今后无论是用车咨询、保养预约还是其他需要，都欢迎随时与我联系。\n\n' +
      '祝您用车愉快，出行平安！\n\n{{consultantName}}\n{{storeName}}',
    html:
      '<p>{{customerName}}您好：</p>' +
      '<p>恭喜您喜提{{vehicleModel}}！衷心感谢您选择{{storeName}}，感谢您对我们的信任。</p>' +
      '<p>我是您的专属顾问{{consultantName}}。今后无论是用车咨询、保养预约还是其他需要，都欢迎随时与我联系。</p>' +
      '<p>祝您用车愉快，出行平安！</p>' +
      '<p>{{consultantName}}<br>{{storeName}}</p>',
    variables: DELIVERY_VARIABLES,
  },
  {
    key: 'delivery-thank-you',
    locale: 'en',
    channel: 'email',
    purpose: 'service',
    subject: 'Thank you for choosing {{storeName}}',
    body:
      'Dear {{customerName}},\n\n' +
      'Congratulations on your new {{vehicleModel}}, and thank you for the trust you have placed in {{storeName}}.\n\n' +
      "I'm {{consultantName}}, your consultant. Whether it's a question about the car, booking a service " +
      'or anything else, please get in touch any time.\n\n' +
      'Wishing you many happy and safe journeys,\n\n{{consultantName}}\n{{storeName}}',
    html:
      '<p>Dear {{customerName}},</p>' +
      '<p>Congratulations on your new {{vehicleModel}}, and thank you for the trust you have placed in {{storeName}}.</p>' +
      "<p>I'm {{consultantName}}, your consultant. Whether it's a question about the car, booking a service " +
      'or anything else, please get in touch any time.</p>' +
      '<p>Wishing you many happy and safe journeys,</p>' +
      '<p>{{consultantName}}<br>{{storeName}}</p>',
    variables: DELIVERY_VARIABLES,
  },
  ...yearsTemplates(),
];

/**
 * The years after delivery (src/domain/years.ts names these keys in its default plan): service
 * reminders, and the greetings, which are marketing (consent, marketing hours, opt-out hint).
 */
function yearsTemplates(): Template[] {
  const sms = (key: string, purpose: Template['purpose'], zh: string, en: string, variables: string[]): Template[] => [
    { key, locale: 'zh-CN', channel: 'sms', purpose, body: zh, variables },
    { key, locale: 'en', channel: 'sms', purpose, body: en, variables },
  ];
  return [
    ...sms('maintenance-reminder', 'service',
      '【{{storeName}}】{{customerName}}您好，您的{{vehicleModel}}即将到定期保养时间，请致电{{serviceHotline}}预约，我们为您安排。',
      'Hello {{customerName}}, your {{vehicleModel}} is due for its service soon. Call {{storeName}} on {{serviceHotline}} to book it.',
      ['storeName', 'customerName', 'vehicleModel', 'serviceHotline']),
    ...sms('insurance-renewal-reminder', 'service',
      '【{{storeName}}】{{customerName}}您好，您的{{vehicleModel}}车险即将到期，续保请致电{{serviceHotline}}，我们为您办理。',
      'Hello {{customerName}}, the insurance of your {{vehicleModel}} expires soon. Call {{storeName}} on {{serviceHotline}} to renew it.',
      ['storeName', 'customerName', 'vehicleModel', 'serviceHotline']),
    ...sms('inspection-reminder', 'service',
      '【{{storeName}}】{{customerName}}您好，您的{{vehicleModel}}即将到年检时间，如需协助请致电{{serviceHotline}}。',
      'Hello {{customerName}}, your {{vehicleModel}} is due for its annual inspection soon. For help, call {{storeName}} on {{serviceHotline}}.',
      ['storeName', 'customerName', 'vehicleModel', 'serviceHotline']),
    ...sms('licence-expiry-reminder', 'service',
      '【{{storeName}}】{{customerName}}您好，温馨提醒：您的驾驶证即将到期，请及时办理换证。',
      'Hello {{customerName}}, a reminder from {{storeName}}: your driving licence expires soon. Please renew it in time.',
      ['storeName', 'customerName']),
    ...sms('birthday-greeting', 'marketing',
      '【{{storeName}}】{{customerName}}，祝您生日快乐！感谢您一直以来的信任，{{storeName}}全体同仁祝您出行平安。',
      'Happy birthday, {{customerName}}! Thank you for your trust. Safe travels from all of us at {{storeName}}.',
      ['storeName', 'customerName']),
    ...sms('purchase-anniversary-greeting', 'marketing',
      '【{{storeName}}】{{customerName}}您好，您的{{vehicleModel}}已陪伴您又一年，感谢您的信任，祝您用车愉快！',
      'Hello {{customerName}}, another year with your {{vehicleModel}}! Thank you for choosing {{storeName}}.',
      ['storeName', 'customerName', 'vehicleModel']),
  ];
}

