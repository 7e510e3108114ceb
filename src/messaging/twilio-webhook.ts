import twilio from 'twilio';

export interface TwilioSignedRequest {
  authToken: string;
  /** The full public URL Twilio called, query string included, as configured in Twilio. */
  url: string;
  /** The form-encoded POST parameters of the webhook. */
  params: Readonly<Record<string, string | string[]>>;
  /** The `X-Twilio-Signature` header; absent on anything that did not come from Twilio. */
  signature: string | undefined;
}

/** True only when the webhook was signed by Twilio with this account's auth token. */
export function verifyTwilioSignature({ authToken, url, params, signature }: TwilioSignedRequest): boolean {
  if (!signature) return false;
  return twilio.validateRequest(authToken, signature, url, params);
}

/** Where Twilio posts delivery receipts (the statusCallback of every message) and inbound SMS. */
export const TWILIO_STATUS_PATH = '/v1/webhooks/twilio/status';
export const TWILIO_INBOUND_PATH = '/v1/webhooks/twilio/inbound';
