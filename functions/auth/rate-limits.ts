import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';
import type { RateLimitSettings } from '../platform/settings';
import { describeError } from '../platform/describe-error';

/** Which per-window budget a request spends: writes (submits, uploads) or everything else. */
export type LimitKind = 'submit' | 'read';

/** Where a caller stands in the current window: the values of the RateLimit headers. */
export interface Quota {
  limit: number;
  remaining: number;
  /** Seconds until the window ends, rounded up, at least 1 (a Retry-After of 0 invites a busy loop). */
  resetSeconds: number;
}

/** Whether a request may proceed; `quota` is absent when the budget is unlimited or could not be counted. */
export type Admission =
  | { admitted: true; quota?: Quota }
  | { admitted: false; refusal: 'over-limit'; quota: Quota; windowSeconds: number }
  /** A submit while Redis cannot count. */
  | { admitted: false; refusal: 'unavailable' };

/** A Redis that is slow to answer counts as down: a read must not wait on it, a submit gets its 503 soon. */
const REDIS_TIMEOUT_MS = 1_000;
const WARN_INTERVAL_MS = 60_000;
/** ioredis states in which the connection is known to be lost: fail at once instead of queueing the command. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/** Each budget: the setting that sizes it, what it counts (for the refusal's text), and its size. */
export const LIMITS: Record<
  LimitKind,
  { setting: string; what: string; budget: (s: RateLimitSettings) => number }
> = {
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
 * Without Redis (LOCAL_WITHOUT_REDIS, one local process) the same windows are counted in this process's memory.
 */
export class RateLimits {
  /** Built at first use, on the app's one Redis client (`services.redis()` always gives the same one). */
  private readonly limiters: Partial<Record<LimitKind, Pick<RateLimiterMemory, 'consume'>>> = {};
  private lastWarning = 0;

  constructor(
    private readonly redis: (() => Promise<Redis>) | undefined,
    /** Counters are `<namespace>:rl:<kind>:<caller id>` (REDIS_NAMESPACE): apart from anything else in the Redis. */
    private readonly namespace: string,
    private readonly settings: RateLimitSettings,
    private readonly log: (level: 'warn', message: string) => void,
  ) {}

  /**
   * Spends one request of the caller's `kind` budget. `exempt` is asked only when the answer would be a refusal: a
   * request it approves (an idempotent replay, which writes nothing) proceeds anyway.
   */
  async admit(kind: LimitKind, callerId: string, exempt: () => Promise<boolean>): Promise<Admission> {
    const max = LIMITS[kind].budget(this.settings);
    if (max === 0) return { admitted: true };
    let spent: RateLimiterRes;
    try {
      spent = await this.spend(kind, callerId);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) return this.unavailable(kind, err, exempt);
      const quota = quotaOf(max, err);
      if (await exempt()) return { admitted: true, quota };
      return { admitted: false, refusal: 'over-limit', quota, windowSeconds: this.settings.windowSeconds };
    }
    return { admitted: true, quota: quotaOf(max, spent) };
  }

  private async spend(kind: LimitKind, callerId: string): Promise<RateLimiterRes> {
    const window = {
      keyPrefix: `${this.namespace}:rl:${kind}`,
      points: LIMITS[kind].budget(this.settings),
      duration: this.settings.windowSeconds,
    };
    if (!this.redis) return (this.limiters[kind] ??= new RateLimiterMemory(window)).consume(callerId);
    const client = await this.redis();
    if (DOWN.has(client.status)) throw new Error(`the connection is ${client.status}`);
    const limiter = (this.limiters[kind] ??= new RLWrapperTimeouts({
      // ioredis is the library's default client: no `useRedisPackage` (that flag is for the `redis` package).
      limiter: new RateLimiterRedis({ storeClient: client, ...window }),
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
    if (kind === 'read' || (await exempt())) return { admitted: true };
    return { admitted: false, refusal: 'unavailable' };
  }
}

function quotaOf(max: number, spent: RateLimiterRes): Quota {
  return {
    limit: max,
    remaining: spent.remainingPoints,
    resetSeconds: Math.max(1, Math.ceil(spent.msBeforeNext / 1000)),
  };
}
