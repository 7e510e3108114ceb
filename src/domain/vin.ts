/**
 * Vehicle identification numbers (ISO 3779; GB 16735 in China, which like North America requires
 * the check digit in position 9). Letters I, O and Q never appear.
 */
import { z } from 'zod';

const TRANSLITERATION: Record<string, number> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

export function normalizeVin(raw: string): string {
  return raw.trim().toUpperCase();
}

export function vinCheckDigit(vin: string): string {
  const sum = [...vin].reduce((acc, ch, i) => {
    const value = /\d/.test(ch) ? Number(ch) : TRANSLITERATION[ch] ?? 0;
    return acc + value * WEIGHTS[i];
  }, 0);
  const remainder = sum % 11;
  return remainder === 10 ? 'X' : String(remainder);
}

/** Returns why the VIN is malformed, or null when it is valid. */
export function vinProblem(vin: string): string | null {
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(vin)) return 'must be 17 characters of A-Z and 0-9 without I, O or Q';
  if (vinCheckDigit(vin) !== vin[8]) return 'check digit (9th character) does not match';
  return null;
}

/** A VIN at the boundary (a request body, an import row): normalised, and refused with the reason when it cannot be one. */
export const VinSchema = z.string().max(40).transform((raw, ctx) => {
  const vin = normalizeVin(raw);
  const problem = vinProblem(vin);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return vin;
});
