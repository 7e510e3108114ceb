import type { Locale } from './templates';

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSize {
  encoding: SmsEncoding;
  /** Length in the encoding's units: septets for GSM-7 (extension characters take 2), UTF-16 code units for UCS-2. */
  characters: number;
  /** Billed message parts; 0 for an empty text. */
  segments: number;
}

/** Appended to marketing SMS so the recipient always knows how to stop them. */
export const MARKETING_OPT_OUT_SUFFIX: Readonly<Record<Locale, string>> = {
  'zh-CN': ' 回T退订',
  en: ' Reply STOP to opt out',
};

// GSM 03.38 basic character set, in table order (the escape code 0x1B is left out).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Extension table characters are sent as ESC + char, so each costs two septets.
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

const LIMITS: Readonly<Record<SmsEncoding, { single: number; perPart: number }>> = {
  // A multi-part message loses room to the concatenation header (UDH) in every part.
  'GSM-7': { single: 160, perPart: 153 },
  'UCS-2': { single: 70, perPart: 67 },
};

/** How a text will be encoded and into how many segments a carrier splits it. */
export function smsSegments(text: string): SmsSize {
  const widths = gsm7Widths(text);
  const encoding: SmsEncoding = widths ? 'GSM-7' : 'UCS-2';
  const units = widths ?? ucs2Widths(text);
  return { encoding, characters: sum(units), segments: countSegments(units, LIMITS[encoding]) };
}

/** Septets per character, or undefined when any character is outside GSM-7. */
function gsm7Widths(text: string): number[] | undefined {
  const widths: number[] = [];
  for (const char of text) {
    if (GSM_BASIC.has(char)) widths.push(1);
    else if (GSM_EXTENSION.has(char)) widths.push(2);
    else return undefined;
  }
  return widths;
}

/** UTF-16 code units per code point: astral characters such as emoji are surrogate pairs. */
function ucs2Widths(text: string): number[] {
  return Array.from(text, (char) => char.length);
}

/**
 * Packs characters into parts greedily. An escape sequence or surrogate pair is never split
 * across two parts, so a long text can need one part more than a plain division suggests.
 */
function countSegments(widths: number[], limit: { single: number; perPart: number }): number {
  const total = sum(widths);
  if (total === 0) return 0;
  if (total <= limit.single) return 1;
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > limit.perPart) {
      segments += 1;
      used = 0;
    }
    used += width;
  }
  return segments;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
