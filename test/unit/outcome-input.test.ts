import { CallOutcomeSchema } from '../../src/domain/outcome';

const issues = (input: object) => {
  const result = CallOutcomeSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
};

describe('a call outcome as recorded by staff', () => {
  it('stores a corrected mobile number in E.164', () => {
    const outcome = CallOutcomeSchema.parse({ reached: true, satisfied: true, contactDataCorrect: false, correctedContact: { phone: '139 1234 5678' } });
    expect(outcome.correctedContact?.phone).toBe('+8613912345678');
  });

  it.each([
    ['a 10-digit mobile', '+86 138 1234 567'],
    ['a trunk prefix after +86', '+86 0138 1234 5678'],
    ['a landline, which cannot get the follow-up SMS', '010 6552 9988'],
  ])('refuses %s as a corrected phone, naming correctedContact.phone', (_what, phone) => {
    expect(issues({ reached: true, satisfied: true, correctedContact: { phone } })).toEqual(['correctedContact.phone']);
  });

  it('refuses NUL in a note or a complaint (PostgreSQL would refuse it inside the workflow, for ever)', () => {
    expect(issues({ reached: false, note: '没人接\u0000' })).toEqual(['note']);
    expect(issues({ reached: true, satisfied: false, complaint: '\u0000' })).toEqual(['complaint']);
  });

  it('keeps a note over several lines', () => {
    expect(CallOutcomeSchema.parse({ reached: true, satisfied: true, note: '客户满意。\n下次保养三月。' }).note).toBe('客户满意。\n下次保养三月。');
  });
});
