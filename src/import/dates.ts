/**
 * Dates as DMS exports write them: 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, an
 * Excel serial number (45356) or an Excel date cell, each optionally with a time of day. The
 * result is the store's local calendar date (and time, when the file gives one).
 */
import { DateTime } from 'luxon';
import { inSaneRange } from '../domain/dates';

export interface LocalDateTime {
  /** YYYY-MM-DD */
  date: string;
  /** HH:MM:SS, when the file gave a time */
  time?: string;
}

export type DateParse = { ok: true; value: LocalDateTime } | { ok: false; problem: string };

const PROBLEM = 'is not a date: write it as 2024-03-05, 2024/3/5, 2024年3月5日 or 20240305';
// Excel's day 0 is 1899-12-30 (it counts the 1900 leap day that never was); serials 36526..73415 are 2000..2100.
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;
const SEPARATED = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s]+(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2}))?秒?)?$/u;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;

type Time = [hour: number, minute: number, second: number];

function fromParts(y: number, m: number, d: number, time?: Time): DateParse {
  const [hour, minute, second] = time ?? [0, 0, 0];
  const dt = DateTime.fromObject({ year: y, month: m, day: d, hour, minute, second }, { zone: 'UTC' });
  if (!dt.isValid || !inSaneRange(dt.toJSDate())) return { ok: false, problem: dt.isValid ? 'must lie between 2000 and 2100' : PROBLEM };
  return { ok: true, value: { date: dt.toISODate()!, ...(time && { time: dt.toFormat('HH:mm:ss') }) } };
}

const timeOf = (at: Date): Time | undefined =>
  at.getUTCHours() + at.getUTCMinutes() + at.getUTCSeconds() > 0 ? [at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds()] : undefined;

function fromSerial(serial: number): DateParse {
  if (!(serial >= 36526 && serial < 73416)) return { ok: false, problem: PROBLEM };
  const at = new Date(EXCEL_EPOCH_MS + Math.round(serial * DAY_MS / 1000) * 1000);
  return fromParts(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), timeOf(at));
}

/** A cell's value (a string from CSV, a number or Date from Excel) as a local date. */
export function parseImportDate(value: string | number | Date): DateParse {
  // exceljs gives a date cell as the UTC instant of its wall-clock reading.
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return { ok: false, problem: PROBLEM };
    return fromParts(value.getUTCFullYear(), value.getUTCMonth() + 1, value.getUTCDate(), timeOf(value));
  }
  if (typeof value === 'number') return fromSerial(value);
  const text = value.trim();
  const compact = COMPACT.exec(text);
  if (compact) return fromParts(Number(compact[1]), Number(compact[2]), Number(compact[3]));
  const m = SEPARATED.exec(text);
  if (m) return fromParts(Number(m[1]), Number(m[2]), Number(m[3]), m[4] !== undefined ? [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)] : undefined);
  if (/^\d{5}(\.\d+)?$/.test(text)) return fromSerial(Number(text));
  return { ok: false, problem: PROBLEM };
}

/** The instant of a local date (and time; noon when the file gave none) in the store's time zone. */
export function instantOf(value: LocalDateTime, timeZone: string): Date {
  return DateTime.fromISO(`${value.date}T${value.time ?? '12:00:00'}`, { zone: timeZone }).toJSDate();
}
