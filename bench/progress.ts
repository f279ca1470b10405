import { loadavg } from 'node:os';
import { closeAppServices } from '../functions/app/app-services';
import { isFinished } from '../functions/model/task';
import { sseFrames } from '../client/sse-frames';
import type { EphemeralStack } from '../local-dev/ephemeral-stack';
import { startBenchStack, submitTask } from './bench-stack';
import { startHostProcess, stopChildren } from './processes';
import { sessionOrder, startSseServer, type SseServerKind } from './sse-servers';
import { summarizeLatencies, type LatencySummary } from './stats';

export interface ProgressSession extends LatencySummary {
  /** Progress events received over all streams (the samples). */
  events: number;
  /** The machine's 1-minute load average before and after the session. */
  loadAverage: [number, number];
}

export interface ProgressLevel {
  streams: number;
  longhaul: ProgressSession;
  bare: ProgressSession;
  /** Longhaul's p99 over the bare server's. */
  p99Ratio: number;
}

export interface ProgressSizes {
  /** Concurrent streams on the task, one level after the other. */
  streams: number[];
  /** The task's steps; each reports progress once. */
  steps: number;
  stepMs: number;
}

// 200 steps: about 330 events per stream, enough for a p99 of one stream.
export const PROGRESS_SIZES: ProgressSizes = { streams: [1, 100], steps: 200, stepMs: 50 };

interface EventFields {
  at: string;
  status?: string;
}

/**
 * Reads one task stream until the task's terminal status, recording for each progress event how long after `at` it
 * arrived. Longhaul's stream ends there by itself; the bare server's stays open, so the reader closes it. A stream
 * that outlives `timeoutMs` fails the benchmark instead of hanging it.
 */
async function watch(url: string, latencies: number[], timeoutMs: number): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new Error(`${url} did not end within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    for await (const frame of sseFrames(res.body)) {
      if (frame.event === 'end') return;
      if (frame.event !== 'progress' && frame.event !== 'status') continue;
      const event = JSON.parse(frame.data) as EventFields;
      if (frame.event === 'progress') latencies.push(Date.now() - Date.parse(event.at));
      else if (isFinished(String(event.status))) return;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** One task run by the worker, watched by `streams` concurrent streams of one server. */
async function session(
  kind: SseServerKind,
  streams: number,
  stack: EphemeralStack,
  sizes: ProgressSizes,
): Promise<ProgressSession> {
  const load = loadavg()[0];
  const server = await startSseServer(kind, stack);
  try {
    const task = await submitTask('simulate', { steps: sizes.steps, stepMs: sizes.stepMs });
    const latencies: number[] = [];
    const url = `${server.line}/api/tasks/${task.id}/events`;
    // The task's own run time and a minute to spare.
    const timeoutMs = sizes.steps * sizes.stepMs + 60_000;
    await Promise.all(Array.from({ length: streams }, () => watch(url, latencies, timeoutMs)));
    const summary = summarizeLatencies(latencies);
    return { events: summary.samples, ...summary, loadAverage: [load, loadavg()[0]] };
  } finally {
    await stopChildren([server.child]);
  }
}

/**
 * Progress latency: `ctx.progress` in a worker process to SSE clients, through Redis, for 1 and 100 concurrent
 * streams on one task, served by an API process (the app's HTTP triggers on the local host) and, in the same run, by
 * the bare `node:http` SSE server on the same Redis channel.
 */
export async function benchProgress(
  sizes: ProgressSizes = PROGRESS_SIZES,
): Promise<{ levels: ProgressLevel[] }> {
  const stack = await startBenchStack();
  const worker = await startHostProcess('worker', stack.settings);
  try {
    const levels: ProgressLevel[] = [];
    for (const [index, streams] of sizes.streams.entries()) {
      const results = new Map<SseServerKind, ProgressSession>();
      for (const kind of sessionOrder(index)) results.set(kind, await session(kind, streams, stack, sizes));
      const longhaul = results.get('longhaul')!;
      const bare = results.get('bare')!;
      levels.push({ streams, longhaul, bare, p99Ratio: longhaul.p99Ms / bare.p99Ms });
    }
    return { levels };
  } finally {
    await stopChildren([worker.child]);
    await closeAppServices();
    await stack.stop();
  }
}
