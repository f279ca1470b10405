import type { HttpResponseInit } from '@azure/functions';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import type { RateLimitSettings } from '../../platform/settings';
import { problem } from './responses';
import { describeError } from '../../platform/describe-error';

/** Which per-window budget a request spends: writes (submits, uploads) or everything else. */
export type LimitKind = 'submit' | 'read';

/** Whether a request may proceed, and the RateLimit headers its response carries. */
export interface Admission {
  /** The 429 (over the limit) or 503 (a submit while Redis is down) to answer instead. */
  refusal?: HttpResponseInit;
  headers: Record<string, string>;
}

/** Counters are `longhaul:rl:<kind>:<caller id>`: apart from anything else that shares the Redis. */
const KEY_PREFIX = 'longhaul:rl';
/** A Redis that is slow to answer counts as down: a read must not wait on it, a submit gets its 503 soon. */
const REDIS_TIMEOUT_MS = 1_000;
/** What a refused submit is told while Redis is down: about when a restarted or failed-over cache is back. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
/** No one knows when one of the caller's tasks will end; about a poll interval. */
const ACTIVE_TASKS_RETRY_AFTER_SECONDS = 5;
const WARN_INTERVAL_MS = 60_000;
/** ioredis states in which the connection is known to be lost: fail at once instead of queueing the command. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

const LIMITS: Record<LimitKind, { setting: string; what: string; budget: (s: RateLimitSettings) => number }> =
  {
    submit: {
      setting: 'RATE_LIMIT_SUBMITS_PER_MINUTE',
      what: 'task submissions and uploads',
      budget: (s) => s.submits,
    },
    read: { setting: 'RATE_LIMIT_READS_PER_MINUTE', what: 'requests', budget: (s) => s.reads },
  };

/**
 * The per-caller request budgets, counted in Redis (rate-limiter-flexible's atomic fixed window) so that every
 * instance of the app shares them. When Redis cannot count, reads go on unlimited and submits are refused: a lost
 * limit on reads costs some load, while unlimited submits would let one caller fill the queue and the database.
 */
export class RateLimits {
  /** Built at first use, on the app's one Redis client (`services.redis()` always gives the same one). */
  private readonly limiters: Partial<Record<LimitKind, RLWrapperTimeouts>> = {};
  private lastWarning = 0;

  constructor(
    private readonly redis: () => Promise<Redis>,
    private readonly settings: RateLimitSettings,
    private readonly log: (level: 'warn', message: string) => void,
  ) {}

  /**
   * Spends one request of the caller's `kind` budget. `exempt` is asked only when the answer would be a refusal: a
   * request it approves (an idempotent replay, which writes nothing) proceeds anyway.
   */
  async admit(kind: LimitKind, callerId: string, exempt: () => Promise<boolean>): Promise<Admission> {
    const max = LIMITS[kind].budget(this.settings);
    if (max === 0) return { headers: {} };
    let spent: RateLimiterRes;
    try {
      spent = await this.spend(kind, callerId);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) return this.unavailable(kind, err, exempt);
      const refusal = (await exempt()) ? undefined : this.tooMany(kind, max, err);
      return { refusal, headers: rateLimitHeaders(max, err) };
    }
    return { headers: rateLimitHeaders(max, spent) };
  }

  private async spend(kind: LimitKind, callerId: string): Promise<RateLimiterRes> {
    const client = await this.redis();
    if (DOWN.has(client.status)) throw new Error(`the connection is ${client.status}`);
    const limiter = (this.limiters[kind] ??= new RLWrapperTimeouts({
      // ioredis is the library's default client: no `useRedisPackage` (that flag is for the `redis` package).
      limiter: new RateLimiterRedis({
        storeClient: client,
        keyPrefix: `${KEY_PREFIX}:${kind}`,
        points: LIMITS[kind].budget(this.settings),
        duration: this.settings.windowSeconds,
      }),
      timeoutMs: REDIS_TIMEOUT_MS,
    }));
    return limiter.consume(callerId);
  }

  private async unavailable(
    kind: LimitKind,
    err: unknown,
    exempt: () => Promise<boolean>,
  ): Promise<Admission> {
    if (Date.now() - this.lastWarning >= WARN_INTERVAL_MS) {
      this.lastWarning = Date.now();
      this.log(
        'warn',
        `rate limits: Redis cannot count (${describeError(err)}); reads proceed unlimited, ` +
          'submits and uploads are refused with 503 until it answers again',
      );
    }
    if (kind === 'read' || (await exempt())) return { headers: {} };
    return {
      refusal: problem(
        503,
        'rate-limit-unavailable',
        'Submissions are paused: the rate limiter cannot count them right now, and they are not accepted uncounted. ' +
          `Retry in ${UNAVAILABLE_RETRY_AFTER_SECONDS} seconds.`,
        {},
        { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
      ),
      headers: {},
    };
  }

  private tooMany(kind: LimitKind, max: number, spent: RateLimiterRes): HttpResponseInit {
    const { setting, what } = LIMITS[kind];
    const window = this.settings.windowSeconds === 60 ? 'minute' : `${this.settings.windowSeconds} seconds`;
    const retryAfter = secondsUntil(spent);
    return problem(
      429,
      'rate-limited',
      `Rate limit ${setting}: at most ${max} ${what} per ${window} for each caller. Retry in ${retryAfter} seconds.`,
      { limit: setting, max },
      { 'retry-after': String(retryAfter), ...rateLimitHeaders(max, spent) },
    );
  }
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

/** Seconds until the window ends, rounded up, at least 1 (a Retry-After of 0 invites a busy loop). */
function secondsUntil(spent: RateLimiterRes): number {
  return Math.max(1, Math.ceil(spent.msBeforeNext / 1000));
}

/** The IETF draft's RateLimit-Limit, -Remaining and -Reset (seconds until the window ends). */
function rateLimitHeaders(max: number, spent: RateLimiterRes): Record<string, string> {
  return {
    'ratelimit-limit': String(max),
    'ratelimit-remaining': String(spent.remainingPoints),
    'ratelimit-reset': String(secondsUntil(spent)),
  };
}

/** The response with the admission's headers added. */
export function withRateLimitHeaders(response: HttpResponseInit, admission: Admission): HttpResponseInit {
  const names = Object.keys(admission.headers);
  if (names.length === 0) return response;
  const headers = new Headers(response.headers as ConstructorParameters<typeof Headers>[0]);
  for (const name of names) headers.set(name, admission.headers[name]);
  return { ...response, headers };
}
