import { MARKETING_OPT_OUT_SUFFIX, smsSegments } from '../../src/domain/sms-segments';

const latin = (count: number) => 'a'.repeat(count);
const hanzi = (count: number) => '好'.repeat(count);

describe('GSM-7 texts', () => {
  it.each([
    [1, 1],
    [160, 1],
    [161, 2],
    [306, 2],
    [307, 3],
  ])('%i plain characters make %i segment(s)', (length, segments) => {
    expect(smsSegments(latin(length))).toEqual({ encoding: 'GSM-7', characters: length, segments });
  });

  it('counts the euro sign as two septets', () => {
    expect(smsSegments('€')).toEqual({ encoding: 'GSM-7', characters: 2, segments: 1 });
  });

  it('counts every extension character as two septets', () => {
    expect(smsSegments('^{}\\[~]|€\f')).toEqual({ encoding: 'GSM-7', characters: 20, segments: 1 });
  });

  it('spills into a second segment when an extension character crosses 160 septets', () => {
    expect(smsSegments(`${latin(159)}€`)).toEqual({ encoding: 'GSM-7', characters: 161, segments: 2 });
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', characters: 160, segments: 1 });
  });

  it('never splits an escape sequence, which can cost one segment more than 306/153', () => {
    // part 1: 152 a (the € does not fit), part 2: € + 151 a = 153, part 3: the last a.
    expect(smsSegments(`${latin(152)}€${latin(152)}`)).toEqual({ encoding: 'GSM-7', characters: 306, segments: 3 });
  });

  it('keeps the accented letters of the GSM basic table in GSM-7', () => {
    const basicSpecials = '@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà\n\r';
    expect(smsSegments(basicSpecials)).toEqual({ encoding: 'GSM-7', characters: basicSpecials.length, segments: 1 });
  });
});

describe('UCS-2 texts', () => {
  it.each([
    [70, 1],
    [71, 2],
    [134, 2],
    [135, 3],
  ])('%i Chinese characters make %i segment(s)', (length, segments) => {
    expect(smsSegments(hanzi(length))).toEqual({ encoding: 'UCS-2', characters: length, segments });
  });

  it('switches the whole text to UCS-2 for a single character outside GSM-7', () => {
    expect(smsSegments('Hello 你好')).toEqual({ encoding: 'UCS-2', characters: 8, segments: 1 });
    expect(smsSegments('façade').encoding).toBe('UCS-2'); // only the capital Ç is in the GSM table
  });

  it('counts an emoji as a surrogate pair of two code units', () => {
    expect(smsSegments('😀')).toEqual({ encoding: 'UCS-2', characters: 2, segments: 1 });
    expect(smsSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', characters: 70, segments: 1 });
    expect(smsSegments('😀'.repeat(36))).toEqual({ encoding: 'UCS-2', characters: 72, segments: 2 });
  });

  it('never splits a surrogate pair across segments', () => {
    // part 1: 66 好 (the emoji does not fit), part 2: emoji + 65 好 = 67, part 3: the last 好.
    expect(smsSegments(`${hanzi(66)}😀${hanzi(66)}`)).toEqual({ encoding: 'UCS-2', characters: 134, segments: 3 });
  });
});

describe('edge cases and the opt-out hint', () => {
  it('counts an empty text as nothing to send', () => {
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', characters: 0, segments: 0 });
  });

  it('offers a Chinese and an English opt-out hint', () => {
    expect(MARKETING_OPT_OUT_SUFFIX['zh-CN']).toBe(' 回T退订');
    expect(MARKETING_OPT_OUT_SUFFIX.en).toBe(' Reply STOP to opt out');
    expect(smsSegments(MARKETING_OPT_OUT_SUFFIX.en)).toEqual({ encoding: 'GSM-7', characters: 22, segments: 1 });
    expect(smsSegments(MARKETING_OPT_OUT_SUFFIX['zh-CN'])).toEqual({ encoding: 'UCS-2', characters: 5, segments: 1 });
  });
});
