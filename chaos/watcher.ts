import { setTimeout as sleep } from 'node:timers/promises';
import { LonghaulClient } from '../client/longhaul-client';

export interface WatchOutcome {
  /** Seqs delivered as events or stood for by a snapshot. */
  seen: Set<number>;
  /** Events delivered although already seen: invariant 4, must be 0. */
  duplicates: number;
  /** The stream said the task ended. */
  ended: boolean;
}

/**
 * Watches one task through the client's `watch()` (which reconnects with Last-Event-ID) until it ends or `signal`
 * fires. When the API answers an error (a dependency down), `watch()` throws; the watcher then starts over, and the
 * new snapshot stands for the events it did not get, as it would for a browser that reloads.
 */
export async function watchTask(baseUrl: string, id: string, signal: AbortSignal): Promise<WatchOutcome> {
  const client = new LonghaulClient({ baseUrl });
  const outcome: WatchOutcome = { seen: new Set(), duplicates: 0, ended: false };
  while (!signal.aborted && !outcome.ended) {
    try {
      for await (const item of client.watch(id, { signal, retryMs: 250 })) {
        if (item.kind === 'snapshot') for (let s = 1; s <= item.seq; s++) outcome.seen.add(s);
        else if (item.kind === 'end') outcome.ended = true;
        else if (outcome.seen.has(item.event.seq)) outcome.duplicates++;
        else outcome.seen.add(item.event.seq);
      }
    } catch {
      if (!signal.aborted) await sleep(250);
    }
  }
  return outcome;
}
