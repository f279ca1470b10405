import { join } from 'node:path';
import type { EphemeralStack } from '../local-dev/ephemeral-stack';
import { startChild, startHostProcess, type StartedChild } from './processes';

/** The SSE servers the progress and fan-out benchmarks compare: Longhaul's API process, and the bare baseline. */
export type SseServerKind = 'longhaul' | 'bare';

/**
 * Starts one of them on the stack's Redis: Longhaul's app HTTP triggers on the local host, or `bare-sse-server.ts`.
 * `line` is its URL; both serve `/api/tasks/{id}/events`. `execArgv` goes to node (e.g. --cpu-prof).
 */
export function startSseServer(
  kind: SseServerKind,
  stack: EphemeralStack,
  execArgv: string[] = [],
): Promise<StartedChild> {
  return kind === 'longhaul'
    ? startHostProcess('http', stack.settings, execArgv)
    : startChild(
        join(__dirname, 'bare-sse-server.js'),
        [stack.settings.REDIS_URL, stack.settings.REDIS_NAMESPACE],
        {},
        execArgv,
      );
}

/** Which server goes first at each level: they alternate, so that neither always meets the machine in the same state. */
export function sessionOrder(level: number): SseServerKind[] {
  return level % 2 === 0 ? ['longhaul', 'bare'] : ['bare', 'longhaul'];
}
