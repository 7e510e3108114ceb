import { z } from 'zod';
import { safeName, safeNote, safeText, withoutControlCharacters } from '../../src/domain/text';

function problems(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.message);
}

describe('safeText', () => {
  const text = safeText(20);

  it('keeps ordinary Chinese, Latin and emoji text, trimmed', () => {
    expect(text.parse('  汉兰达 2.0T  ')).toBe('汉兰达 2.0T');
    expect(text.parse('Model Y 👨‍👩‍👧')).toBe('Model Y 👨‍👩‍👧');
  });

  it.each([
    ['NUL', 'abc\u0000def', 'U+0000'],
    ['line feed', 'two\nlines', 'U+000A'],
    ['tab', 'a\tb', 'U+0009'],
    ['escape', '\u001B[31mred', 'U+001B'],
    ['DEL', 'a\u007Fb', 'U+007F'],
    ['a C1 control', 'a\u0085b', 'U+0085'],
    ['a lone surrogate', 'a\uD800b', 'U+D800'],
  ])('refuses %s, naming the character', (_what, value, code) => {
    expect(problems(text, value)).toEqual([expect.stringContaining(code)]);
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['only zero-width spaces and joiners', '\u200B\u200C\u200D'],
    ['only a BOM', '\uFEFF\u200B'],
    ['only direction marks', '\u200E\u200F'],
    ['only a Hangul filler', '\u3164'],
    ['only ideographic spaces', '\u3000\u3000'],
  ])('refuses text that is %s', (_what, value) => {
    expect(problems(text, value)).not.toEqual([]);
  });

  it('counts the maximum after trimming', () => {
    expect(text.parse(` ${'a'.repeat(20)} `)).toHaveLength(20);
    expect(problems(text, 'a'.repeat(21))).not.toEqual([]);
  });
});

describe('safeName', () => {
  const name = safeName(100);

  it('keeps real names, including Arabic with a direction mark and a middle dot', () => {
    expect(name.parse('张伟')).toBe('张伟');
    expect(name.parse('阿卜杜拉·买买提')).toBe('阿卜杜拉·买买提');
    expect(name.parse('\u200Fعبد الله')).toBe('\u200Fعبد الله');
  });

  it.each([
    ['a right-to-left override', 'Bob\u202Etxt.exe', 'U+202E'],
    ['an isolate', '\u2066Alice\u2069', 'U+2066'],
  ])('refuses %s', (_what, value, code) => {
    expect(problems(name, value)).toEqual([expect.stringContaining(code)]);
  });

  it('refuses a name made only of overrides and invisible characters', () => {
    expect(problems(name, '\u202E\u200B\u2066')).toContain('must contain a visible character');
  });

  it('refuses NUL', () => {
    expect(problems(name, '张\u0000伟')).toEqual([expect.stringContaining('U+0000')]);
  });
});

describe('safeNote', () => {
  const note = safeNote(2000);

  it('keeps line breaks and tabs', () => {
    expect(note.parse('客户满意。\n下次保养：\t三月')).toBe('客户满意。\n下次保养：\t三月');
    expect(note.parse('line one\r\nline two')).toBe('line one\r\nline two');
  });

  it.each([
    ['NUL', 'note\u0000', 'U+0000'],
    ['a vertical tab', 'a\u000Bb', 'U+000B'],
    ['a C1 control', 'a\u009Bb', 'U+009B'],
  ])('refuses %s', (_what, value, code) => {
    expect(problems(note, value)).toEqual([expect.stringContaining(code)]);
  });

  it('refuses a note with nothing visible', () => {
    expect(problems(note, '\n\t\u200B')).not.toEqual([]);
  });

  it('names the field when nested in an object', () => {
    const result = z.object({ note: note }).safeParse({ note: 'x\u0000' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].path).toEqual(['note']);
  });
});

describe('withoutControlCharacters', () => {
  it('drops NUL, escapes and lone surrogates from an inbound SMS and keeps its lines and emoji', () => {
    expect(withoutControlCharacters('满意\u0000 5\u001B\n谢谢 😀\uD800')).toBe('满意 5\n谢谢 😀');
  });
});
