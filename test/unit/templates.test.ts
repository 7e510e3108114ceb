import { smsSegments } from '../../src/domain/sms-segments';
import {
  DEFAULT_TEMPLATES,
  renderTemplate,
  type Template,
  TemplateVariableMissingError,
  validateTemplate,
} from '../../src/domain/templates';

const deliveryValues = {
  customerName: '王女士',
  storeName: '汇方汽车浦东店',
  consultantName: '李明',
  consultantPhone: '13900001111',
  serviceHotline: '400-800-1234',
  vehicleModel: 'Model Y',
};

function defaultTemplate(key: string, locale: Template['locale'], channel: Template['channel']): Template {
  const template = DEFAULT_TEMPLATES.find((t) => t.key === key && t.locale === locale && t.channel === channel);
  if (!template) throw new Error(`no default template ${key} ${locale} ${channel}`);
  return template;
}

const smsTemplate = (overrides: Partial<Template>): Template => ({
  key: 'test',
  locale: 'en',
  channel: 'sms',
  purpose: 'service',
  body: 'Hi {{customerName}}',
  variables: ['customerName'],
  ...overrides,
});

describe('the default templates', () => {
  it.each(DEFAULT_TEMPLATES.map((t) => [`${t.key} ${t.locale} ${t.channel}`, t]))('%s is valid and uses every variable', (_name, template) => {
    expect(validateTemplate(template)).toEqual({ errors: [], warnings: [] });
  });

  it('cover the delivery day in both languages, as service messages', () => {
    const catalogue = DEFAULT_TEMPLATES.filter((t) => t.key.startsWith('delivery-')).map((t) => `${t.key}/${t.channel}/${t.locale}/${t.purpose}`).sort();
    expect(catalogue).toEqual([
      'delivery-care-2h/sms/en/service',
      'delivery-care-2h/sms/zh-CN/service',
      'delivery-farewell/sms/en/service',
      'delivery-farewell/sms/zh-CN/service',
      'delivery-thank-you/email/en/service',
      'delivery-thank-you/email/zh-CN/service',
      'delivery-thank-you/sms/en/service',
      'delivery-thank-you/sms/zh-CN/service',
    ]);
  });

  it('declare the variables the delivery flow provides', () => {
    expect([...defaultTemplate('delivery-thank-you', 'zh-CN', 'sms').variables].sort()).toEqual(
      ['consultantName', 'customerName', 'storeName', 'vehicleModel'],
    );
    expect([...defaultTemplate('delivery-farewell', 'en', 'sms').variables].sort()).toEqual(
      ['consultantName', 'consultantPhone', 'serviceHotline', 'storeName'],
    );
  });

  it('render the Chinese thank-you SMS with the customer, car and consultant', () => {
    const { body } = renderTemplate(defaultTemplate('delivery-thank-you', 'zh-CN', 'sms'), deliveryValues);

    expect(body).toContain('【汇方汽车浦东店】王女士您好！恭喜您喜提Model Y');
    expect(body).toContain('我是您的专属顾问李明');
    expect(body).not.toMatch(/\{\{|\}\}/);
  });

  it.each([
    ['zh-CN', deliveryValues],
    ['en', { ...deliveryValues, customerName: 'Ms. Wang', storeName: 'Huifang Motors Pudong', consultantName: 'Ming Li' }],
  ] as const)('keep every %s delivery SMS within two segments for typical values', (locale, values) => {
    const smsTemplates = DEFAULT_TEMPLATES.filter((t) => t.channel === 'sms' && t.locale === locale);
    for (const template of smsTemplates) {
      expect(smsSegments(renderTemplate(template, values).body).segments).toBeLessThanOrEqual(2);
    }
  });

  it('render the farewell as a contact card with phone and hotline', () => {
    const { body } = renderTemplate(defaultTemplate('delivery-farewell', 'zh-CN', 'sms'), deliveryValues);

    expect(body).toContain('13900001111');
    expect(body).toContain('服务热线400-800-1234');
  });

  it('render the thank-you email with subject, text and HTML', () => {
    const rendered = renderTemplate(defaultTemplate('delivery-thank-you', 'en', 'email'), {
      ...deliveryValues,
      customerName: 'Ms. Wang',
    });

    expect(rendered.subject).toBe('Thank you for choosing 汇方汽车浦东店');
    expect(rendered.body).toContain('Dear Ms. Wang,');
    expect(rendered.html).toContain('<p>Dear Ms. Wang,</p>');
  });
});

describe('validating a template', () => {
  it('names the field that uses an undeclared placeholder', () => {
    const result = validateTemplate(smsTemplate({ body: 'Hi {{customerName}}, your {{vehicleVin}} is ready' }));

    expect(result.errors).toEqual([{ field: 'body', message: 'placeholder {{vehicleVin}} is not declared in variables' }]);
  });

  it('checks the subject and the HTML of an email too', () => {
    const result = validateTemplate(
      smsTemplate({ channel: 'email', subject: 'For {{storeName}}', html: '<p>{{consultantName}}</p>' }),
    );

    expect(result.errors.map((problem) => problem.field)).toEqual(['subject', 'html']);
  });

  it('requires a subject for an email', () => {
    expect(validateTemplate(smsTemplate({ channel: 'email' })).errors).toEqual([
      { field: 'subject', message: 'an email template needs a subject' },
    ]);
  });

  it('refuses a subject or HTML on an SMS', () => {
    const result = validateTemplate(smsTemplate({ subject: 'Hello', html: '<p>Hello</p>' }));

    expect(result.errors.map((problem) => problem.field)).toEqual(['subject', 'html']);
  });

  it('reports a malformed placeholder', () => {
    const result = validateTemplate(smsTemplate({ body: 'Hi {{customer name}}', variables: [] }));

    expect(result.errors).toEqual([{ field: 'body', message: 'malformed placeholder; write {{variableName}}' }]);
  });

  it('reports plain schema problems with their field', () => {
    const result = validateTemplate({ ...smsTemplate({}), locale: 'fr', variables: ['customer-name'] });

    expect(result.errors.map((problem) => problem.field)).toEqual(['locale', 'variables.0']);
  });

  it('only warns about a declared variable the text never uses', () => {
    const result = validateTemplate(smsTemplate({ variables: ['customerName', 'storeName'] }));

    expect(result).toEqual({
      errors: [],
      warnings: [{ field: 'variables.1', message: 'variable storeName is declared but never used' }],
    });
  });
});

describe('rendering a template', () => {
  it('refuses to send with a declared variable missing, naming it', () => {
    const template = defaultTemplate('delivery-thank-you', 'zh-CN', 'sms');
    const { vehicleModel: _omitted, ...withoutModel } = deliveryValues;

    expect(() => renderTemplate(template, withoutModel)).toThrow(TemplateVariableMissingError);
    expect(() => renderTemplate(template, withoutModel)).toThrow('missing values for: vehicleModel');
  });

  it('treats a blank value as missing, so no message reads "Dear ,"', () => {
    let error: unknown;
    try {
      renderTemplate(smsTemplate({}), { customerName: '  ' });
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(TemplateVariableMissingError);
    expect(error).toMatchObject({ name: 'TemplateVariableMissingError', templateKey: 'test', missing: ['customerName'] });
  });

  it('refuses a template that uses an undeclared placeholder', () => {
    expect(() => renderTemplate(smsTemplate({ body: 'Hi {{nickname}}' }), { nickname: 'Wang' })).toThrow(
      'placeholder {{nickname}} is not declared',
    );
  });

  it('escapes values in HTML but leaves the text body as written', () => {
    const template = defaultTemplate('delivery-thank-you', 'en', 'email');
    const rendered = renderTemplate(template, { ...deliveryValues, customerName: '<b>Tom & "Jerry"</b>' });

    expect(rendered.html).toContain('<p>Dear &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;,</p>');
    expect(rendered.body).toContain('Dear <b>Tom & "Jerry"</b>,');
  });

  it('does not expand placeholders that arrive inside a value', () => {
    const { body } = renderTemplate(smsTemplate({}), { customerName: '{{storeName}}', storeName: 'X' });

    expect(body).toBe('Hi {{storeName}}');
  });

  it('appends the opt-out hint to marketing SMS in the template language', () => {
    expect(renderTemplate(smsTemplate({ purpose: 'marketing' }), { customerName: 'Wang' }).body).toBe(
      'Hi Wang Reply STOP to opt out',
    );
    expect(
      renderTemplate(smsTemplate({ purpose: 'marketing', locale: 'zh-CN', body: '{{customerName}}您好，保养季八折' }), {
        customerName: '王女士',
      }).body,
    ).toBe('王女士您好，保养季八折 回T退订');
  });

  it('adds no opt-out hint to service SMS or to marketing email', () => {
    expect(renderTemplate(smsTemplate({}), { customerName: 'Wang' }).body).toBe('Hi Wang');
    const email = smsTemplate({ channel: 'email', purpose: 'marketing', subject: 'Offer' });
    expect(renderTemplate(email, { customerName: 'Wang' }).body).toBe('Hi Wang');
  });
});
