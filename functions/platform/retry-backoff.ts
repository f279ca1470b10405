/**
 * Delay before retry `attempt` (2 = first retry): exponential from `baseSeconds`, capped at an hour, with full
 * jitter on the upper half so retries of many tasks failing together spread out.
 */
export function retryDelayMs(
  attempt: number,
  baseSeconds: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempt - 2), 3_600_000);
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
