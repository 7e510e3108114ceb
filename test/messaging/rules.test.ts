import { effectiveConsents, earliestSendingInstant, isConsentGiven, sendingWindowFor } from '../../src/domain/consent';
import { frequencyCapDecision } from '../../src/domain/frequency-cap';
import { helpReply } from '../../src/domain/opt-out';
import { DEFAULT_TEMPLATES, pickTemplate, type Template, unsupportedVariableProblems } from '../../src/domain/templates';
import { isFinal, statusesBefore, statusFromTwilio } from '../../src/messaging/delivery-status';
import { unsubscribeLinks } from '../../src/messaging/unsubscribe';

const hoursAgo = (now: Date, hours: number) => new Date(now.getTime() - hours * 3_600_000);

describe('consent rules', () => {
  it('allow service notices until the customer says no, and marketing only after a yes', () => {
    expect(isConsentGiven('service', null)).toBe(true);
    expect(isConsentGiven('marketing', null)).toBe(false);
    expect(isConsentGiven('service', { granted: false })).toBe(false);
    expect(isConsentGiven('marketing', { granted: true })).toBe(true);
  });

  it('fill in the defaults for every channel and purpose nothing was recorded for', () => {
    const updatedAt = new Date('2026-01-01T00:00:00Z');
    const all = effectiveConsents([{ channel: 'email', purpose: 'marketing', granted: true, source: 'api-key:k', updatedAt }]);
    expect(all.map((c) => [c.channel, c.purpose, c.granted, c.source])).toEqual([
      ['sms', 'service', true, 'default'],
      ['sms', 'marketing', false, 'default'],
      ['email', 'service', true, 'default'],
      ['email', 'marketing', true, 'api-key:k'],
    ]);
  });

  it('give marketing the carriers\' 08:00-21:00 and service the customer\'s own window', () => {
    const night = { start: '20:00', end: '02:00' };
    expect(sendingWindowFor('marketing', night)).toEqual({ start: '08:00', end: '21:00' });
    expect(sendingWindowFor('service', night)).toBe(night);
  });

  it('read the window on the store\'s clock, across midnight', () => {
    const window = { start: '22:00', end: '02:00' };
    const at = new Date('2026-03-10T17:30:00Z'); // 01:30 in Shanghai, 18:30 in London
    expect(earliestSendingInstant(at, 'service', window, 'Asia/Shanghai')).toBe(at);
    expect(earliestSendingInstant(at, 'service', window, 'Europe/London').toISOString()).toBe('2026-03-10T22:00:00.000Z');
  });
});

describe('the frequency cap', () => {
  const now = new Date('2026-05-06T12:00:00Z');

  it('lets a message through under the cap', () => {
    expect(frequencyCapDecision({ purpose: 'marketing', now, capPerDay: 3, recent: [{ purpose: 'service', at: hoursAgo(now, 1) }] })).toEqual({ allowed: true });
  });

  it('holds marketing back until the oldest message that fills the cap is 24 hours old', () => {
    const recent = [hoursAgo(now, 20), hoursAgo(now, 5), hoursAgo(now, 1)].map((at) => ({ purpose: 'service' as const, at }));
    expect(frequencyCapDecision({ purpose: 'marketing', now, capPerDay: 3, recent })).toEqual({ allowed: false, notBefore: new Date('2026-05-06T16:00:00Z') });
  });

  it('waits for enough messages to age out when the count is over the cap', () => {
    const recent = [23, 22, 10, 2].map((h) => ({ purpose: 'marketing' as const, at: hoursAgo(now, h) }));
    // Two must leave before there is room under a cap of 3: the second oldest, 22 hours ago, leaves in 2 hours.
    expect(frequencyCapDecision({ purpose: 'marketing', now, capPerDay: 3, recent })).toEqual({ allowed: false, notBefore: new Date('2026-05-06T14:00:00Z') });
  });

  it('counts nothing older than 24 hours', () => {
    const recent = [25, 24, 30].map((h) => ({ purpose: 'marketing' as const, at: hoursAgo(now, h) }));
    expect(frequencyCapDecision({ purpose: 'marketing', now, capPerDay: 1, recent })).toEqual({ allowed: true });
  });

  it('never holds a service notice back for marketing volume', () => {
    const recent = [1, 2, 3, 4].map((h) => ({ purpose: 'marketing' as const, at: hoursAgo(now, h) }));
    expect(frequencyCapDecision({ purpose: 'service', now, capPerDay: 3, recent })).toEqual({ allowed: true });
  });

  it('refuses a cap that is not a whole number of messages', () => {
    expect(() => frequencyCapDecision({ purpose: 'service', now, capPerDay: 0, recent: [] })).toThrow(RangeError);
  });
});

describe('delivery status order', () => {
  it('maps Twilio\'s statuses to ours', () => {
    expect(['accepted', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'canceled', 'receiving'].map(statusFromTwilio))
      .toEqual(['queued', 'queued', 'sending', 'sent', 'delivered', 'delivered', 'undelivered', 'failed', 'failed', null]);
  });

  it('lets a status replace only those before it; a final one is never replaced', () => {
    expect(statusesBefore('sent')).toEqual(['queued', 'sending']);
    expect(statusesBefore('delivered')).toEqual(['queued', 'sending', 'sent']);
    expect(statusesBefore('undelivered')).not.toContain('delivered');
    expect(['delivered', 'undelivered', 'failed'].every(isFinal)).toBe(true);
    expect(isFinal('sent')).toBe(false);
  });
});

describe('unsubscribe links', () => {
  const links = unsubscribeLinks({ PUBLIC_BASE_URL: 'https://huifang.example/', UNSUBSCRIBE_SECRET: 'x'.repeat(32) });
  const customerId = '0b8f9c52-3f3e-4d2e-9a53-1f2f0d3c4b5a';
  const tokenOf = (url: string) => decodeURIComponent(new URL(url).searchParams.get('token')!);

  it('name the customer in a token only our secret can sign', () => {
    const url = links.url(customerId);
    expect(url).toMatch(/^https:\/\/huifang\.example\/v1\/unsubscribe\?token=/);
    expect(links.verify(tokenOf(url))).toBe(customerId);
  });

  it('reject a token signed with another secret, altered, or malformed', () => {
    const other = unsubscribeLinks({ PUBLIC_BASE_URL: 'https://huifang.example', UNSUBSCRIBE_SECRET: 'y'.repeat(32) });
    const token = tokenOf(links.url(customerId));
    expect(links.verify(tokenOf(other.url(customerId)))).toBeNull();
    expect(links.verify(token.replace(customerId, '0b8f9c52-3f3e-4d2e-9a53-000000000000'))).toBeNull();
    expect(links.verify('nodot')).toBeNull();
    expect(links.verify(`${customerId}.`)).toBeNull();
  });
});

describe('the HELP answer', () => {
  it('lists the hotline of every store the number belongs to and how to stop', () => {
    expect(helpReply([{ name: '浦东店', serviceHotline: '400-1' }, { name: '闵行店', serviceHotline: null }], 'zh-CN'))
      .toBe('【浦东店】服务热线 400-1。【闵行店】请联系您的销售顾问。回T退订，回START恢复接收。');
    expect(helpReply([], 'en')).toBe('Reply STOP to opt out, START to opt back in.');
  });
});

describe('choosing a template', () => {
  const own = (locale: Template['locale']): Template => ({ key: 'delivery-thank-you', locale, channel: 'sms', purpose: 'service', body: `own ${locale}`, variables: [] });

  it('prefers the customer\'s language over the store\'s own template in Chinese', () => {
    expect(pickTemplate([own('zh-CN')], { key: 'delivery-thank-you', channel: 'sms', locale: 'en' })?.body).toMatch(/^Dear/);
    expect(pickTemplate([own('zh-CN'), own('en')], { key: 'delivery-thank-you', channel: 'sms', locale: 'en' })?.body).toBe('own en');
    expect(pickTemplate([own('zh-CN')], { key: 'delivery-thank-you', channel: 'sms', locale: 'zh-CN' })?.body).toBe('own zh-CN');
  });

  it('falls back to Chinese, and finds nothing for an unknown key', () => {
    const chineseOnly: Template = { ...own('zh-CN'), key: 'store-only' };
    expect(pickTemplate([chineseOnly], { key: 'store-only', channel: 'sms', locale: 'en' })).toBe(chineseOnly);
    expect(pickTemplate([], { key: 'nope', channel: 'sms', locale: 'en' })).toBeUndefined();
  });

  it('accepts only the variables the send activity provides', () => {
    expect(DEFAULT_TEMPLATES.flatMap((t) => unsupportedVariableProblems(t.variables))).toEqual([]);
    expect(unsupportedVariableProblems(['customerName', 'plate'])).toEqual([{ field: 'variables.1', message: expect.stringMatching(/^no value is provided for plate/) }]);
  });
});
