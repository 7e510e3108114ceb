import twilio from 'twilio';
import { classifyTwilioError } from '../../src/messaging/twilio-errors';

/** Builds the error the SDK throws for a non-2xx answer, from Twilio's documented error body. */
function restException(status: number, code?: number) {
  return new twilio.RestException({
    statusCode: status,
    body: JSON.stringify({ code, message: 'from Twilio', more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
  });
}

function networkError(code: string) {
  return Object.assign(new Error(`connect ${code} 203.0.113.1:443`), { code });
}

describe('a Twilio REST failure', () => {
  it.each([
    [400, 21211, 'invalid-number'],
    [400, 21614, 'invalid-number'],
    [400, 21217, 'invalid-number'],
    [400, 21610, 'opted-out'],
    [401, 20003, 'auth'],
    [401, undefined, 'auth'],
    [400, 21602, 'rejected'],
    [404, 20404, 'rejected'],
    [403, undefined, 'rejected'],
  ] as const)('HTTP %i with code %s is permanent: %s', (status, code, reason) => {
    expect(classifyTwilioError(restException(status, code))).toEqual({
      retryable: false,
      reason,
      status,
      ...(code !== undefined && { code }),
    });
  });

  it.each([
    [429, 20429, 'rate-limited'],
    [429, undefined, 'rate-limited'],
    [500, 20500, 'provider-unavailable'],
    [502, undefined, 'provider-unavailable'],
    [503, 20503, 'provider-unavailable'],
  ] as const)('HTTP %i with code %s is temporary: %s', (status, code, reason) => {
    expect(classifyTwilioError(restException(status, code))).toMatchObject({ retryable: true, reason, status });
  });

  it('reads the RFC 9457 problem form of newer Twilio APIs too', () => {
    const problem = { type: 'https://www.twilio.com/docs/errors/20429', title: 'Too Many Requests', status: 429, code: 20429 };

    expect(classifyTwilioError(problem)).toEqual({ retryable: true, reason: 'rate-limited', code: 20429, status: 429 });
  });
});

describe('a delivery failure reported in a status callback', () => {
  it.each([
    [30003, true, 'unreachable'],
    [30004, false, 'rejected'],
    [30005, false, 'invalid-number'],
    [30006, false, 'invalid-number'],
    [30007, false, 'rejected'],
    [30008, true, 'unreachable'],
  ] as const)('ErrorCode %i is %s to retry: %s', (code, retryable, reason) => {
    expect(classifyTwilioError({ code })).toEqual({ retryable, reason, code });
  });
});

describe('a failure before Twilio answered', () => {
  it.each(['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'ECONNABORTED', 'EAI_AGAIN'])('%s is a retryable network error', (code) => {
    expect(classifyTwilioError(networkError(code))).toEqual({ retryable: true, reason: 'network' });
  });

  it('finds the socket error on the cause of a wrapping error', () => {
    const wrapped = new Error('request failed', { cause: networkError('ECONNRESET') });

    expect(classifyTwilioError(wrapped)).toEqual({ retryable: true, reason: 'network' });
  });

  it('is permanent when the SDK refused the input before sending', () => {
    expect(classifyTwilioError(new Error('Required parameter "params[\'to\']" missing.'))).toEqual({
      retryable: false,
      reason: 'rejected',
    });
  });

  it.each([undefined, null, 'boom', 42])('is permanent for a thrown %p', (thrown) => {
    expect(classifyTwilioError(thrown)).toEqual({ retryable: false, reason: 'rejected' });
  });
});
