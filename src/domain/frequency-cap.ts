/**
 * The per-customer frequency cap: at most N messages per channel in any rolling 24 hours. Service outranks
 * marketing: a marketing message counts everything already sent, a service notice counts only
 * other service notices, so no amount of marketing can hold back a service notice. Pure.
 */
import type { Purpose } from './consent';

export const DEFAULT_MESSAGE_CAP_PER_DAY = 3;
export const CAP_PERIOD_MS = 24 * 60 * 60 * 1000;

/** A message that went out (or is going out) to the customer, and when. */
export interface CountedMessage {
  purpose: Purpose;
  at: Date;
}

export type CapDecision = { allowed: true } | { allowed: false; notBefore: Date };

export function frequencyCapDecision(input: {
  purpose: Purpose;
  now: Date;
  /** Messages to this customer; anything outside the last 24 hours is ignored. */
  recent: readonly CountedMessage[];
  capPerDay: number;
}): CapDecision {
  const { purpose, now, recent, capPerDay } = input;
  if (!Number.isInteger(capPerDay) || capPerDay < 1) throw new RangeError(`the cap must be a whole number of messages, got ${capPerDay}`);
  const since = now.getTime() - CAP_PERIOD_MS;
  const counted = recent
    .filter((m) => m.at.getTime() > since && m.at.getTime() <= now.getTime())
    .filter((m) => purpose === 'marketing' || m.purpose === 'service')
    .map((m) => m.at.getTime())
    .sort((a, b) => a - b);
  if (counted.length < capPerDay) return { allowed: true };
  // Room opens when enough of the oldest have left the 24 hours to bring the count under the cap.
  return { allowed: false, notBefore: new Date(counted[counted.length - capPerDay] + CAP_PERIOD_MS) };
}
