import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ServiceUnavailable',
  'ServiceBusy',
  'ServiceTimeout',
  'GeneralError',
  'ServiceCommunicationProblem',
  // Postgres: connection failures, admin shutdown, serialization and deadlock.
  '08000',
  '08003',
  '08006',
  '57P01',
  '57P03',
  '40001',
  '40P01',
]);

/** Errors worth retrying: network failures, throttling and 5xx from Azure, Postgres restarts. */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; statusCode?: number; retryable?: boolean };
  if (e.retryable === true) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.statusCode === 'number')
    return e.statusCode === 408 || e.statusCode === 429 || e.statusCode >= 500;
  return /Connection terminated|connection timeout|socket hang up/i.test(e.message);
}

const policy = retry(handleWhen(isTransientError), {
  maxAttempts: 4,
  backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }),
});

/** Runs `fn`, retrying transient failures a few times with exponential backoff and jitter (cockatiel). */
export function withTransientRetry<T>(fn: () => Promise<T>): Promise<T> {
  return policy.execute(() => fn());
}
