import type { HttpResponseInit } from '@azure/functions';
import { type Admission, LIMITS, type LimitKind, type Quota } from '../../auth/rate-limits';
import { problem } from './responses';

/** What a refused submit is told while Redis is down: about when a restarted or failed-over cache is back. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
/** No one knows when one of the caller's tasks will end; about a poll interval. */
const ACTIVE_TASKS_RETRY_AFTER_SECONDS = 5;

/** The 429 (over the limit) or 503 (a submit while Redis cannot count) that answers a refused request. */
export function refusalResponse(
  kind: LimitKind,
  admission: Extract<Admission, { admitted: false }>,
): HttpResponseInit {
  if (admission.refusal === 'unavailable') {
    return problem(
      503,
      'rate-limit-unavailable',
      'Submissions are paused: the rate limiter cannot count them right now, and they are not accepted uncounted. ' +
        `Retry in ${UNAVAILABLE_RETRY_AFTER_SECONDS} seconds.`,
      {},
      { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    );
  }
  const { setting, what } = LIMITS[kind];
  const { quota, windowSeconds } = admission;
  const window = windowSeconds === 60 ? 'minute' : `${windowSeconds} seconds`;
  return problem(
    429,
    'rate-limited',
    `Rate limit ${setting}: at most ${quota.limit} ${what} per ${window} for each caller. ` +
      `Retry in ${quota.resetSeconds} seconds.`,
    { limit: setting, max: quota.limit },
    { 'retry-after': String(quota.resetSeconds), ...rateLimitHeaders(quota) },
  );
}

/** The 429 for a submit over MAX_ACTIVE_TASKS_PER_CALLER (counted in Postgres, atomically with the insert). */
export function tooManyActiveTasks(max: number): HttpResponseInit {
  return problem(
    429,
    'rate-limited',
    `Rate limit MAX_ACTIVE_TASKS_PER_CALLER: at most ${max} queued or running tasks for each caller. ` +
      'Retry when one of them has finished.',
    { limit: 'MAX_ACTIVE_TASKS_PER_CALLER', max },
    { 'retry-after': String(ACTIVE_TASKS_RETRY_AFTER_SECONDS) },
  );
}

/** The IETF draft's RateLimit-Limit, -Remaining and -Reset (seconds until the window ends). */
function rateLimitHeaders(quota: Quota): Record<string, string> {
  return {
    'ratelimit-limit': String(quota.limit),
    'ratelimit-remaining': String(quota.remaining),
    'ratelimit-reset': String(quota.resetSeconds),
  };
}

/** The response with the RateLimit headers of the caller's quota added (none when it was not counted). */
export function withRateLimitHeaders(response: HttpResponseInit, quota: Quota | undefined): HttpResponseInit {
  if (!quota) return response;
  const headers = new Headers(response.headers as ConstructorParameters<typeof Headers>[0]);
  for (const [name, value] of Object.entries(rateLimitHeaders(quota))) headers.set(name, value);
  return { ...response, headers };
}
