export type TwilioFailureReason =
  | 'invalid-number'
  | 'opted-out'
  | 'unreachable'
  | 'rate-limited'
  | 'provider-unavailable'
  | 'auth'
  | 'rejected'
  | 'network';

export interface TwilioFailure {
  /** False means retrying cannot help: the send becomes a data-fix or configuration task. */
  retryable: boolean;
  reason: TwilioFailureReason;
  code?: number;
  status?: number;
}

type Verdict = Pick<TwilioFailure, 'retryable' | 'reason'>;

const permanent = (reason: TwilioFailureReason): Verdict => ({ retryable: false, reason });
const temporary = (reason: TwilioFailureReason): Verdict => ({ retryable: true, reason });

/**
 * Twilio error codes (https://www.twilio.com/docs/api/errors) that say more than the HTTP status.
 * The 300xx codes arrive as `ErrorCode` in delivery status callbacks, not as REST errors.
 */
const VERDICT_BY_CODE: ReadonlyMap<number, Verdict> = new Map([
  [20003, permanent('auth')], // authentication failed: wrong credentials are a configuration problem
  [20429, temporary('rate-limited')],
  [20500, temporary('provider-unavailable')],
  [20503, temporary('provider-unavailable')],
  [21211, permanent('invalid-number')], // invalid 'To' phone number
  [21217, permanent('invalid-number')], // phone number does not appear to be valid
  [21614, permanent('invalid-number')], // 'To' is not a mobile number
  [21610, permanent('opted-out')], // recipient replied STOP: sending again is not allowed
  [30003, temporary('unreachable')], // handset off or out of coverage, may come back
  [30004, permanent('rejected')], // blocked by the carrier or the recipient
  [30005, permanent('invalid-number')], // unknown destination handset
  [30006, permanent('invalid-number')], // landline or unreachable carrier
  [30007, permanent('rejected')], // filtered by the carrier as a content violation
  [30008, temporary('unreachable')], // unknown delivery error, Twilio suggests retrying
]);

// Socket-level failures before or during the exchange; axios puts the errno code on the error.
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** Decides whether a failed Twilio call (a RestException, a network error, or a status-callback code) is worth retrying. */
export function classifyTwilioError(err: unknown): TwilioFailure {
  const code = numericField(err, 'code');
  const status = numericField(err, 'status');
  const details = { ...(code !== undefined && { code }), ...(status !== undefined && { status }) };
  const byCode = code === undefined ? undefined : VERDICT_BY_CODE.get(code);
  if (byCode) return { ...byCode, ...details };
  if (status !== undefined) return { ...verdictForStatus(status), ...details };
  if (isNetworkError(err)) return temporary('network');
  // Anything else was thrown on our side before a request went out (the SDK's parameter checks):
  // the same input fails the same way, so a person should look instead of a retry loop.
  return permanent('rejected');
}

/** True for the errno codes of a failed connection, looked up on the error and on its cause. */
function isNetworkError(err: unknown): boolean {
  return [err, fieldOf(err, 'cause')].some((candidate) => {
    const code = fieldOf(candidate, 'code');
    return typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
  });
}

function verdictForStatus(status: number): Verdict {
  if (status === 429) return temporary('rate-limited');
  if (status >= 500) return temporary('provider-unavailable');
  if (status === 401) return permanent('auth');
  return permanent('rejected');
}

function numericField(value: unknown, key: string): number | undefined {
  const field = fieldOf(value, key);
  return typeof field === 'number' && Number.isInteger(field) ? field : undefined;
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
