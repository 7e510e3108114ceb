import { checkPhone, MobilePhoneSchema, normalizePhone, phoneForDisplay, PhoneSchema } from '../../src/domain/phone';

const e164 = (raw: string, use: 'sms' | 'call') => {
  const checked = checkPhone(raw, use);
  return checked.ok ? checked.e164 : checked.problem;
};

describe('checkPhone', () => {
  it.each([
    ['13812345678', '+8613812345678'],
    ['138 1234 5678', '+8613812345678'],
    ['138-1234-5678', '+8613812345678'],
    ['+86 138 1234 5678', '+8613812345678'],
    ['0086 199 1234 5678', '+8619912345678'],
    ['+44 7911 123456', '+447911123456'],
    ['+852 9123 4567', '+85291234567'],
    ['+49 1512 3456789', '+4915123456789'],
    ['+1 650 253 0000', '+16502530000'],
  ])('reads the mobile %s as %s', (raw, expected) => {
    expect(e164(raw, 'sms')).toBe(expected);
  });

  it.each([
    ['+86 138 1234 567', 'check the number of digits'],
    ['+86 138 1234 56789', 'check the number of digits'],
    ['1381234567', 'check the number of digits'],
    ['+86 238 1234 5678', 'not a valid +86 number'],
    ['+86 0138 1234 5678', 'trunk prefix 0 after +86'],
    ['0086 0138 1234 5678', 'trunk prefix 0 after +86'],
    ['12345', 'not a valid'],
    ['call me', 'is not a phone number'],
    ['', 'is not a phone number'],
    ['138 1234 5678 ext. 12', 'extension'],
  ])('refuses %j', (raw, problem) => {
    expect(e164(raw, 'call')).toContain(problem);
  });

  it.each([
    ['010 6552 9988', '+861065529988'],
    ['021-6279-8888', '+862162798888'],
    ['400-800-8888', '+864008008888'],
    ['+852 2123 4567', '+85221234567'],
    ['+39 06 1234 5678', '+390612345678'],
    ['+44 (0)20 7946 0958', '+442079460958'],
  ])('takes the landline or service number %s for calls, not for SMS', (raw, expected) => {
    expect(e164(raw, 'call')).toBe(expected);
    expect(e164(raw, 'sms')).toContain('must be a mobile number');
  });
});

describe('phone schemas', () => {
  it('give E.164 and name the problem', () => {
    expect(MobilePhoneSchema.parse('138 1234 5678')).toBe('+8613812345678');
    expect(PhoneSchema.parse('010-6552-9988')).toBe('+861065529988');
    expect(MobilePhoneSchema.safeParse('010-6552-9988').error?.issues[0].message).toContain('mobile');
    expect(PhoneSchema.safeParse('1'.repeat(41)).success).toBe(false);
  });

  it('normalizePhone keeps any valid number and refuses the rest', () => {
    expect(normalizePhone('+86 10 6552 9988')).toBe('+861065529988');
    expect(normalizePhone('+86 138 1234 567')).toBeNull();
  });
});

describe('phoneForDisplay', () => {
  it.each([
    ['+8613812345678', 'zh-CN', '138 1234 5678'],
    ['+861065529988', 'zh-CN', '010 6552 9988'],
    ['400-800-1234', 'zh-CN', '400 800 1234'],
    ['+447911123456', 'zh-CN', '+44 7911 123456'],
    ['+8613812345678', 'en', '+86 138 1234 5678'],
    ['95588', 'zh-CN', '95588'],
  ] as const)('shows %s in %s as %s', (value, locale, shown) => {
    expect(phoneForDisplay(value, locale)).toBe(shown);
  });
});
