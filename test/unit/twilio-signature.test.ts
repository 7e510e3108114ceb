import { createHmac } from 'node:crypto';
import { verifyTwilioSignature } from '../../src/messaging/twilio-webhook';

const AUTH_TOKEN = '12345';
const URL = 'https://huifang.example/v1/webhooks/twilio/inbound?store=pudong';
const PARAMS = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  From: '+8613800138000',
  To: '+15005550006',
  Body: '退订',
};

/**
 * Twilio's documented algorithm: the full URL, then each POST parameter name and value
 * in name order, HMAC-SHA1 with the auth token, base64.
 */
function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const payload = Object.keys(params)
    .sort()
    .reduce((signed, name) => signed + name + params[name], url);
  return createHmac('sha1', authToken).update(Buffer.from(payload, 'utf-8')).digest('base64');
}

describe('verifying a Twilio webhook signature', () => {
  it('accepts a request signed with the account auth token', () => {
    const signature = twilioSignature(AUTH_TOKEN, URL, PARAMS);

    expect(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: URL, params: PARAMS, signature })).toBe(true);
  });

  it('rejects a signature made with another auth token', () => {
    const signature = twilioSignature('someone-else', URL, PARAMS);

    expect(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: URL, params: PARAMS, signature })).toBe(false);
  });

  it('rejects a signed request whose body was altered', () => {
    const signature = twilioSignature(AUTH_TOKEN, URL, PARAMS);
    const forged = { ...PARAMS, Body: 'START' };

    expect(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: URL, params: forged, signature })).toBe(false);
  });

  it('rejects a signature made for another URL', () => {
    const signature = twilioSignature(AUTH_TOKEN, 'https://attacker.example/hook', PARAMS);

    expect(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: URL, params: PARAMS, signature })).toBe(false);
  });

  it.each([undefined, ''])('rejects a request without a signature (%p)', (signature) => {
    expect(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: URL, params: PARAMS, signature })).toBe(false);
  });
});
