/**
 * The one table of named failures. Activities throw non-retryable ApplicationFailures with these
 * types; the API maps its own errors to 4xx bodies carrying the same names.
 */
export const ErrorType = {
  InvalidRecipient: 'InvalidRecipient',
  RecipientOptedOut: 'RecipientOptedOut',
  MessageRejected: 'MessageRejected',
  TransportMisconfigured: 'TransportMisconfigured',
  TemplateNotFound: 'TemplateNotFound',
  TemplateVariableMissing: 'TemplateVariableMissing',
  RecordNotFound: 'RecordNotFound',
  TaskAlreadyClosed: 'TaskAlreadyClosed',
  /** Retryable: a send waits while the provider may still accept an earlier attempt's request. */
  EarlierAttemptInFlight: 'EarlierAttemptInFlight',
  /** Retryable: the provider's sending pace is booked further ahead than a send waits in its activity. */
  SendPaceBooked: 'SendPaceBooked',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];
