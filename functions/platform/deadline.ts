/** A dependency did not answer within its deadline; the call may still complete later. */
export class DeadlineExceededError extends Error {
  constructor(
    readonly dependency: string,
    readonly ms: number,
  ) {
    super(`${dependency} did not answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Waits at most `ms` for `work`, then throws DeadlineExceededError and aborts the signal it was given (SDK calls
 * that take one stop there; others, such as a pg query, run on and their outcome is dropped). The caller must
 * therefore treat a deadline as "maybe done": what it answers has to hold either way.
 */
export async function withDeadline<T>(
  dependency: string,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineExceededError(dependency, ms);
      abort.abort(err);
      reject(err);
    }, ms);
  });
  const running = work(abort.signal);
  // A late failure of work that was given up on is nobody's to handle.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
