import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import { z } from 'zod';

/**
 * Phone numbers are checked by libphonenumber's metadata (lengths and number ranges per country,
 * kept up to date upstream) and stored in E.164. A number written without a country code is read
 * as Chinese, the form DMS exports usually hold.
 */
const DEFAULT_COUNTRY = 'CN';

/** What the number is for: a text message needs a mobile; a call reaches a landline too. */
export type PhoneUse = 'sms' | 'call';

// North American numbers do not tell mobile from fixed line, so both count as able to receive SMS.
const SMS_CAPABLE: ReadonlySet<NumberType> = new Set<NumberType>(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

export type PhoneCheck = { ok: true; e164: string } | { ok: false; problem: string };

export function checkPhone(raw: string, use: PhoneUse): PhoneCheck {
  const phone = parsePhoneNumberFromString(raw, DEFAULT_COUNTRY);
  if (!phone) return { ok: false, problem: 'is not a phone number, e.g. 13812345678 or +8613812345678' };
  if (phone.ext) return { ok: false, problem: 'must not carry an extension' };
  if (!phone.isValid()) {
    return { ok: false, problem: `is not a valid +${phone.countryCallingCode} number: check the number of digits (a mainland mobile has 11, starting with 1)` };
  }
  if (writesTrunkPrefixAfterCountryCode(raw, phone.countryCallingCode, phone.nationalNumber)) {
    return { ok: false, problem: `must not have the trunk prefix 0 after +${phone.countryCallingCode}` };
  }
  if (use === 'sms' && !SMS_CAPABLE.has(phone.getType() as NumberType)) {
    return { ok: false, problem: 'must be a mobile number: text messages cannot reach a landline or service number' };
  }
  return { ok: true, e164: phone.number };
}

/**
 * "+86 0138..." dials a number that does not exist: the 0 is only dialled inside the country.
 * libphonenumber forgives it; we refuse it as a typo, except the common "+44 (0)20" notation.
 */
function writesTrunkPrefixAfterCountryCode(raw: string, countryCode: string, nationalNumber: string): boolean {
  const compact = raw.trim().replace('(0)', '');
  if (!/^(\+|00)/.test(compact)) return false;
  const digits = compact.replace(/\D/g, '').replace(/^00/, '');
  return digits !== `${countryCode}${nationalNumber}`;
}

/** A valid number of any kind in E.164, or null (a staff member's desk phone is fine). */
export function normalizePhone(raw: string): string | null {
  const checked = checkPhone(raw, 'call');
  return checked.ok ? checked.e164 : null;
}

const phoneSchema = (use: PhoneUse) =>
  z.string().max(40).transform((raw, ctx) => {
    const checked = checkPhone(raw, use);
    if (checked.ok) return checked.e164;
    ctx.addIssue({ code: 'custom', message: checked.problem });
    return z.NEVER;
  });

/** A customer's number: the follow-up sends SMS to it, so it must be a mobile. Becomes E.164. */
export const MobilePhoneSchema = phoneSchema('sms');
/** A staff member's number: any number that can be called. Becomes E.164. */
export const PhoneSchema = phoneSchema('call');

/**
 * A number as a reader dials it: in Chinese messages a mainland number in national format
 * (138 1234 5678, 010 6552 9988) and any other in international format, which English messages
 * use throughout. Text that is not a valid number (e.g. a short code) is shown as written.
 */
export function phoneForDisplay(value: string, locale: 'zh-CN' | 'en'): string {
  const phone = parsePhoneNumberFromString(value, DEFAULT_COUNTRY);
  if (!phone?.isValid()) return value;
  return locale === 'zh-CN' && phone.country === DEFAULT_COUNTRY ? phone.formatNational() : phone.formatInternational();
}
