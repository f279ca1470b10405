/**
 * Graceful shutdown of the worker side: when the host is about to stop the process (scale-in, deployment, SIGTERM
 * locally), every running slice ends as if its budget were spent — no new step starts, the step in flight gets a short
 * grace, the lease is released and the task continues in a new message that another instance takes at once.
 */
const running = new Set<() => void>();
let stopping = false;
let drained: (() => void) | undefined;

/**
 * Registers a running slice's way to end early; returns the function to call once the slice has ended. A slice that
 * starts after shutdown began is told to end at once.
 */
export function whileRunning(endEarly: () => void): () => void {
  running.add(endEarly);
  if (stopping) endEarly();
  return () => {
    running.delete(endEarly);
    if (running.size === 0) drained?.();
  };
}

/**
 * Tells every running slice to end early and waits until they have, at most `timeoutMs`; returns how many were still
 * running then (0 when all ended in time).
 */
export async function endRunningSlices(timeoutMs: number): Promise<number> {
  stopping = true;
  for (const endEarly of running) endEarly();
  if (running.size > 0) {
    await new Promise<void>((resolve) => {
      drained = resolve;
      setTimeout(resolve, timeoutMs).unref();
    });
  }
  return running.size;
}
