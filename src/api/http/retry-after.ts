// Why: a 503 or 429 without Retry-After leaves a client to guess when to come back, and most guess
// "at once", which is the worst answer for an overloaded or partitioned cluster. Every such answer
// carries one, chosen per error code here (decision 0028 gives the reasons for each value).

/** Seconds to wait before retrying, by error code; codes not listed get the default. */
const retryAfterSecondsByCode: Readonly<Record<string, number>> = {
  // The liveness probe runs every second and a coordinator marks a silent replica down at its
  // deadline: a second later a fallback usually stands in for it and the quorum can be met.
  EVERWRITE_QUORUM_NOT_MET: 1,
  EVERWRITE_TIMEOUT: 1,
  EVERWRITE_UNAVAILABLE: 1,
  EVERWRITE_OVERLOADED: 1,
  // A conflicting cluster view is settled by view gossip (a round a second) or by an operator:
  // retrying each second would only add load to a node that refuses everything meanwhile.
  EVERWRITE_VIEW_CONFLICT: 5,
};

const retryAfterSecondsDefault = 1;

/** The Retry-After value (whole seconds, RFC 9110 section 10.2.3) for an answer with error `code`. */
export function retryAfterSecondsFor(code: unknown): number {
  return (typeof code === 'string' ? retryAfterSecondsByCode[code] : undefined) ?? retryAfterSecondsDefault;
}

/** True for the statuses that must carry Retry-After: 503 Service Unavailable and 429 Too Many Requests. */
export function needsRetryAfter(status: number): boolean {
  return status === 503 || status === 429;
}
