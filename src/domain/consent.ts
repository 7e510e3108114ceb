/**
 * Permission to contact a customer: consent per channel x purpose, and the hours each purpose may
 * use. Pure: used by the send activity (at send time) and by the API.
 */
import { z } from 'zod';
import { ContactWindow, MARKETING_SMS_WINDOW, nextAllowedInstant } from './contact-window';

export const ChannelSchema = z.enum(['sms', 'email']);
export type Channel = z.infer<typeof ChannelSchema>;
export const PurposeSchema = z.enum(['service', 'marketing']);
export type Purpose = z.infer<typeof PurposeSchema>;

export const CHANNELS = ChannelSchema.options;
export const PURPOSES = PurposeSchema.options;

/** Who changed a consent, for the audit column; an API change is recorded as `api-key:<id>`. */
export const ConsentSource = {
  SmsKeyword: 'sms-keyword',
  ProviderOptOut: 'provider-opt-out',
  Bounced: 'bounced',
  UnsubscribeLink: 'unsubscribe-link',
} as const;

export interface StoredConsent {
  channel: string;
  purpose: string;
  granted: boolean;
  source: string;
  updatedAt: Date;
}

/**
 * Service notices (a booked appointment, the car handed over) may be sent until the customer
 * says no; marketing needs an explicit yes (DOMAIN.md section 7).
 */
export function isConsentGiven(purpose: Purpose, stored: Pick<StoredConsent, 'granted'> | null | undefined): boolean {
  return stored ? stored.granted : purpose === 'service';
}

export interface EffectiveConsent {
  channel: Channel;
  purpose: Purpose;
  granted: boolean;
  /** "default" when nothing was recorded and the purpose's default applies. */
  source: string;
  updatedAt: Date | null;
}

/** Every channel x purpose, recorded or defaulted, in a fixed order. */
export function effectiveConsents(stored: readonly StoredConsent[]): EffectiveConsent[] {
  return CHANNELS.flatMap((channel) =>
    PURPOSES.map((purpose) => {
      const row = stored.find((s) => s.channel === channel && s.purpose === purpose);
      return row
        ? { channel, purpose, granted: row.granted, source: row.source, updatedAt: row.updatedAt }
        : { channel, purpose, granted: isConsentGiven(purpose, null), source: 'default', updatedAt: null };
    }),
  );
}

/**
 * The hours a purpose may use: marketing only 08:00-21:00 store time (carriers' rule, whatever the
 * customer's window), service notices inside the window the customer gave (H-1).
 */
export function sendingWindowFor(purpose: Purpose, customerWindow: ContactWindow): ContactWindow {
  return purpose === 'marketing' ? MARKETING_SMS_WINDOW : customerWindow;
}

/** `at` when the purpose's window is open then, else its next opening in the store's time zone. */
export function earliestSendingInstant(at: Date, purpose: Purpose, customerWindow: ContactWindow, timeZone: string): Date {
  return nextAllowedInstant(at, sendingWindowFor(purpose, customerWindow), timeZone);
}
