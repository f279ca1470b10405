import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { appServices, closeAppServices } from '../functions/app/app-services';
import type { EphemeralStack } from '../local-dev/ephemeral-stack';
import { startBenchStack, submitTask } from './bench-stack';
import { runJsonChild, stopChildren } from './processes';
import { sessionOrder, startSseServer, type SseServerKind } from './sse-servers';
import type { FanoutClientOptions, FanoutClientResult } from './fanout-client';

export interface FanoutSession extends FanoutClientResult {
  /** The machine's 1-minute load average before and after the session: other work on the 2 cores shows here. */
  loadAverage: [number, number];
}

export interface FanoutLevel {
  streams: number;
  longhaul: FanoutSession;
  bare: FanoutSession;
  /** Longhaul's delivered events/s over the bare server's. */
  ratio: number;
}

export interface FanoutSizes {
  /** Concurrent streams per level. */
  levels: number[];
  /** How long latency is sampled at each steady rate. */
  latencySeconds: number;
}

/** FANOUT_STREAMS=1000,5000 picks other levels. */
export const FANOUT_SIZES: FanoutSizes = {
  levels: (process.env.FANOUT_STREAMS ?? '1000,5000,10000').split(',').map(Number),
  latencySeconds: 10,
};
/**
 * Events per burst, the same at every level: a server writes a stream's backlog in as few syscalls as it can, so the
 * burst size, not only the server, would otherwise set how much each write carries.
 */
const BURST_EVENTS = 50;

/** The session's client, in its own process so that it takes a core of its own when there is one. */
function runClient(options: FanoutClientOptions): Promise<FanoutClientResult> {
  // Opening 10,000 streams, two latency phases and the bursts take a few minutes at most.
  return runJsonChild(join(__dirname, 'fanout-client.js'), [JSON.stringify(options)], 600_000);
}

/** A task for Longhaul's stream: no worker runs, so it stays queued and its stream open. */
async function openTask(): Promise<{ taskId: string; seqStart: number }> {
  const task = await submitTask('simulate', { steps: 1, stepMs: 1 });
  return { taskId: task.id, seqStart: await appServices().taskEvents.lastSeq(task.id) };
}

async function session(
  kind: SseServerKind,
  streams: number,
  stack: EphemeralStack,
  latencySeconds: number,
): Promise<FanoutSession> {
  const load = loadavg()[0];
  // Fresh for each session, so that its memory and CPU time are that session's alone.
  const server = await startSseServer(kind, stack);
  try {
    // The bare server takes any id; Longhaul's stream needs the task to exist.
    const { taskId, seqStart } =
      kind === 'longhaul' ? await openTask() : { taskId: randomUUID(), seqStart: 0 };
    const result = await runClient({
      url: server.line,
      taskId,
      redisUrl: stack.settings.REDIS_URL,
      streams,
      seqStart,
      openConcurrency: 50,
      // An isolated event, and the rate at which a task publishes progress (design §3).
      latencyRates: [1, 10],
      latencySeconds,
      burstEvents: BURST_EVENTS,
      // A burst's time on 2 shared cores varies by ±30 % from one to the next; the median of 7 steadies the ratio.
      bursts: 7,
      serverPid: server.child.pid!,
      // Rates beyond what a server sustains leave a backlog; it must still drain, well before streams expire.
      waitMs: 90_000,
    });
    return { ...result, loadAverage: [load, loadavg()[0]] };
  } finally {
    await stopChildren([server.child]);
  }
}

/**
 * SSE fan-out capacity: N concurrent streams on one task in one API process (the app's HTTP triggers on the local
 * host), fed by events published on the task's Redis channel, against a bare `node:http` SSE server on the same
 * channel with the same client, the same N and the same events, in the same run. Measures publish -> client latency
 * at steady rates and delivered events/s in bursts.
 */
export async function benchFanout(sizes: FanoutSizes = FANOUT_SIZES): Promise<{ levels: FanoutLevel[] }> {
  // Streams must outlive a whole session (opening 10,000 of them included); 225 s is the most the app allows.
  const stack = await startBenchStack({ SSE_MAX_SECONDS: '225' });
  try {
    const levels: FanoutLevel[] = [];
    for (const [index, streams] of sizes.levels.entries()) {
      const results = new Map<SseServerKind, FanoutSession>();
      for (const kind of sessionOrder(index))
        results.set(kind, await session(kind, streams, stack, sizes.latencySeconds));
      const longhaul = results.get('longhaul')!;
      const bare = results.get('bare')!;
      levels.push({ streams, longhaul, bare, ratio: longhaul.framesPerSecond / bare.framesPerSecond });
    }
    return { levels };
  } finally {
    await closeAppServices();
    await stack.stop();
  }
}
