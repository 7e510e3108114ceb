import { classifyInboundSms } from '../../src/domain/opt-out';

const OPT_OUT_KEYWORDS = [
  'T', 'TD', 'N', 'R', '退订',
  'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT',
];

describe('an inbound SMS', () => {
  it.each(OPT_OUT_KEYWORDS)('%s opts the customer out', (keyword) => {
    expect(classifyInboundSms(keyword)).toEqual({ kind: 'opt-out' });
  });

  it.each(OPT_OUT_KEYWORDS.map((keyword) => keyword.toLowerCase()))('%s in lower case still opts out', (keyword) => {
    expect(classifyInboundSms(keyword)).toEqual({ kind: 'opt-out' });
  });

  it.each([
    ['full-width capitals', 'ＳＴＯＰ'],
    ['full-width lower case', 'ｔｄ'],
    ['mixed case', 'Stop'],
    ['surrounding spaces', '  stop  '],
    ['an ideographic space', '\u3000退订\u3000'],
    ['a trailing full stop', 'stop.'],
    ['a full-width exclamation mark', ' 退订！'],
    ['a Chinese full stop', '退订。'],
    ['a line break from the phone keyboard', 'T\n'],
    ['quotes around it', '"TD"'],
  ])('opts out with %s', (_variant, body) => {
    expect(classifyInboundSms(body)).toEqual({ kind: 'opt-out' });
  });

  it.each(['START', 'start', 'ＳＴＡＲＴ', 'Unstop', ' unstop! '])('%s opts the customer back in', (body) => {
    expect(classifyInboundSms(body)).toEqual({ kind: 'opt-in' });
  });

  it.each(['HELP', 'help?', 'ＨＥＬＰ', '帮助', '帮助？'])('%s asks for help', (body) => {
    expect(classifyInboundSms(body)).toEqual({ kind: 'help' });
  });

  it.each([
    ['1', 1],
    ['2', 2],
    ['3', 3],
    ['4', 4],
    ['5', 5],
    ['５', 5],
    [' 4 ', 4],
    ['5!', 5],
  ] as const)('%s is a satisfaction score of %i', (body, score) => {
    expect(classifyInboundSms(body)).toEqual({ kind: 'csat', score });
  });

  it.each([
    ["please don't stop", 'a keyword inside a sentence'],
    ['stop calling me at night', 'a keyword leading a sentence'],
    ['我不想退订', 'the Chinese keyword inside a sentence'],
    ['YES', 'YES, which is not an opt-in keyword'],
    ['STOP ALL', 'a keyword split by a space'],
    ['TT', 'a doubled letter'],
    ['0', 'a score below the scale'],
    ['6', 'a score above the scale'],
    ['45', 'two digits'],
    ['5分', 'a score with a unit'],
    ['车很好，谢谢', 'a thank-you note'],
    ['', 'an empty message'],
    ['   ', 'only spaces'],
  ])('%s stays free text (%s)', (body) => {
    expect(classifyInboundSms(body)).toEqual({ kind: 'free-text' });
  });
});
