import {
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { OutboundError, type OutboundResponse } from '../../outbound/outbound-client';
import { retryDelayMs } from '../../platform/retry-backoff';
import { isTransientError } from '../../platform/transient-retry';
import type { TaskContext } from '../../engine/define-task';
import { describeError } from '../../platform/describe-error';

export interface ResilienceOptions {
  /** Time for one attempt, redirects included. */
  timeoutMs: number;
  /** Retries after the first attempt. Default 2. */
  retries?: number;
  /** First backoff delay; it doubles per retry, with jitter. Default 250 ms. */
  retryBaseMs?: number;
  /** Cap on a backoff delay. Default 5 s. */
  maxRetryDelayMs?: number;
  /** A longer Retry-After is not waited for: the request fails with the answer it got. Default 10 s. */
  maxRetryAfterMs?: number;
  /** Consecutive failed attempts that open a host's circuit. Default 5. */
  breakAfter?: number;
  /** How long an open circuit refuses requests before letting one through. Default 10 s. */
  halfOpenAfterMs?: number;
}

/** A response that counts as the host failing (429 or 5xx), kept so the last one can be reported. */
export class HttpStatusError extends Error {
  /** Read by isTransientError, like an Azure SDK error's. */
  readonly statusCode: number;
  readonly retryAfterMs: number | undefined;

  constructor(readonly response: OutboundResponse) {
    super(`${response.url} answered ${response.status}`);
    this.name = 'HttpStatusError';
    this.statusCode = response.status;
    this.retryAfterMs = retryAfterMs(response.headers['retry-after']);
  }
}

/** Retry-After as a delay in ms, from seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const CIRCUIT_NAMES: Record<CircuitState, string> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * Resilience for outbound requests, per host (cockatiel): each attempt is timed out; network errors, 429 and 5xx are
 * retried with exponential backoff, or after the server's Retry-After when it gives one; and every host has a circuit
 * breaker, shared by all its requests, that opens after consecutive failures so a failing host is not hammered. Each
 * retry and each change of a circuit's state goes to the task's log.
 */
export class HostResilience {
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(
    private readonly options: ResilienceOptions,
    private readonly log: TaskContext['log'],
  ) {}

  /** Runs `fn` (one request to `url`, given the attempt's abort signal) under the host's policies. */
  execute<T>(url: URL, fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    const retries = retry(
      handleWhen((err) => this.isRetryable(err)),
      {
        maxAttempts: this.options.retries ?? 2,
        backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => this.retryDelay(context)),
      },
    );
    retries.onRetry((event) => {
      const reason = 'error' in event ? describeError(event.error) : 'failed';
      this.log('info', `retrying ${url.href} in ${event.delay} ms: ${reason}`, {
        url: url.href,
        attempt: event.attempt + 1,
        delayMs: event.delay,
      });
    });
    const perAttempt = timeout(this.options.timeoutMs, TimeoutStrategy.Aggressive);
    return wrap(retries, this.breaker(url.host), perAttempt).execute((context) => fn(context.signal), signal);
  }

  private isRetryable(err: Error): boolean {
    const tooLong = err instanceof HttpStatusError && (err.retryAfterMs ?? 0) > this.maxRetryAfterMs;
    return isTransientError(err) && !tooLong;
  }

  private get maxRetryAfterMs(): number {
    return this.options.maxRetryAfterMs ?? 10_000;
  }

  private retryDelay(context: IRetryBackoffContext<unknown>): number {
    const failure = 'error' in context.result ? context.result.error : undefined;
    if (failure instanceof HttpStatusError && failure.retryAfterMs !== undefined) return failure.retryAfterMs;
    // retryDelayMs counts the first attempt as 1; cockatiel counts retries from 1.
    const exponential = retryDelayMs(context.attempt + 1, (this.options.retryBaseMs ?? 250) / 1000);
    return Math.min(exponential, this.options.maxRetryDelayMs ?? 5_000);
  }

  private breaker(host: string): CircuitBreakerPolicy {
    const existing = this.breakers.get(host);
    if (existing) return existing;
    const breakAfter = this.options.breakAfter ?? 5;
    const halfOpenAfter = this.options.halfOpenAfterMs ?? 10_000;
    const breaker = circuitBreaker(handleWhen(isHostFailure), {
      halfOpenAfter,
      breaker: new ConsecutiveBreaker(breakAfter),
    });
    breaker.onStateChange((state) => {
      const circuit = CIRCUIT_NAMES[state];
      const data = { host, circuit };
      if (state === CircuitState.Open) {
        this.log(
          'warn',
          `circuit for ${host} opened after ${breakAfter} consecutive failures: its requests fail at once for ${halfOpenAfter} ms`,
          data,
        );
      } else if (state === CircuitState.HalfOpen) {
        this.log('info', `circuit for ${host} half-open: letting one request through`, data);
      } else {
        this.log('info', `circuit for ${host} ${circuit}`, data);
      }
    });
    this.breakers.set(host, breaker);
    return breaker;
  }
}

/** What says the host is in trouble: network errors, 429, 5xx and timeouts (not 4xx, refusals or limits). */
function isHostFailure(err: Error): boolean {
  return (
    isTransientError(err) ||
    err instanceof TaskCancelledError ||
    (err instanceof OutboundError && err.code === 'timeout')
  );
}
