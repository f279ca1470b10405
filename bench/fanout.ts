import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { appServices, closeAppServices } from '../functions/app/app-services';
import type { EphemeralStack } from '../local-dev/ephemeral-stack';
import { startBenchStack, submitTask } from './bench-stack';
import { readProfileFrom, selfTimeBy } from './cpu-profile';
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

/** What a session measures: latency at 1 and 10 events/s, then 7 bursts; a profiled session, less. */
interface SessionShape {
  latencyRates: number[];
  latencySeconds: number;
  bursts: number;
  execArgv?: string[];
}

async function session(
  kind: SseServerKind,
  streams: number,
  stack: EphemeralStack,
  shape: SessionShape,
): Promise<FanoutSession> {
  const load = loadavg()[0];
  // Fresh for each session, so that its memory and CPU time are that session's alone.
  const server = await startSseServer(kind, stack, shape.execArgv);
  try {
    // The bare server takes any id; Longhaul's stream needs the task to exist.
    const { taskId, seqStart } =
      kind === 'longhaul' ? await openTask() : { taskId: randomUUID(), seqStart: 0 };
    const result = await runClient({
      url: server.line,
      taskId,
      redisUrl: stack.settings.REDIS_URL,
      redisNamespace: stack.settings.REDIS_NAMESPACE,
      streams,
      seqStart,
      openConcurrency: 50,
      latencyRates: shape.latencyRates,
      latencySeconds: shape.latencySeconds,
      burstEvents: BURST_EVENTS,
      bursts: shape.bursts,
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
    const shape = {
      // An isolated event, and the rate at which a task publishes progress (design §3).
      latencyRates: [1, 10],
      latencySeconds: sizes.latencySeconds,
      // A burst's time on 2 shared cores varies by ±30 % from one to the next; the median of 7 steadies the ratio.
      bursts: 7,
    };
    const levels: FanoutLevel[] = [];
    for (const [index, streams] of sizes.levels.entries()) {
      const results = new Map<SseServerKind, FanoutSession>();
      for (const kind of sessionOrder(index)) results.set(kind, await session(kind, streams, stack, shape));
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

/** What one server spent per delivered event at one event a second, by part of the code (µs per stream and event). */
export interface FanoutProfileSession {
  streams: number;
  frames: number;
  p99Ms: number;
  /** CPU time from /proc per delivered event. */
  cpuUsPerFrame: number;
  /** Profiled self time per delivered event, by part. */
  usPerFrame: Record<string, number>;
}

export interface FanoutProfile {
  longhaul: FanoutProfileSession;
  bare: FanoutProfileSession;
}

/** Where a sampled function's time goes in the fan-out profile. */
function fanoutPart(frame: { functionName: string; url: string }): string {
  const { functionName: name, url } = frame;
  if (/^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/.test(name)) return 'socket writes';
  if (name === '(garbage collector)') return 'garbage collection';
  if (url.includes('internal/webstreams')) return 'web streams';
  if (/\/dist\/functions\//.test(url)) return "the app's code";
  if (/\/dist\/(local-dev|bench)\//.test(url)) return "the server's own code";
  if (url.startsWith('node:')) return 'Node.js HTTP, net, timers';
  if (url.includes('node_modules')) return 'packages';
  return 'other';
}

/**
 * The fan-out stage under CPU profilers: each server with `streams` streams, one event a second for
 * FANOUT_SIZES.latencySeconds, its profile summed over that phase only (the client reports when it ran) and divided
 * by the events delivered, by part of the code.
 */
export async function profileFanout(streams = 10_000): Promise<FanoutProfile> {
  const stack = await startBenchStack({ SSE_MAX_SECONDS: '225' });
  try {
    const profiled = async (kind: SseServerKind): Promise<FanoutProfileSession> => {
      const dir = mkdtempSync(join(tmpdir(), 'longhaul-bench-profile-'));
      try {
        const result = await session(kind, streams, stack, {
          latencyRates: [1],
          latencySeconds: FANOUT_SIZES.latencySeconds,
          bursts: 1,
          execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
        });
        const phase = result.latency[0];
        const parts = selfTimeBy(readProfileFrom(dir), phase.windowUs, fanoutPart);
        return {
          streams,
          frames: phase.samples,
          p99Ms: phase.p99Ms,
          cpuUsPerFrame: phase.serverCpuUsPerFrame,
          usPerFrame: Object.fromEntries(
            Object.entries(parts).map(([part, ms]) => [part, (ms * 1000) / phase.samples]),
          ),
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    return { longhaul: await profiled('longhaul'), bare: await profiled('bare') };
  } finally {
    await closeAppServices();
    await stack.stop();
  }
}
