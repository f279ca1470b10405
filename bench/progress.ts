import { appServices, closeAppServices } from '../functions/app-services';
import { sseFrames } from '../client/sse-frames';
import { startBenchStack } from './bench-stack';
import { startHostProcess, stopChildren } from './processes';
import { summarizeLatencies, type LatencySummary } from './stats';

export interface ProgressLatency extends LatencySummary {
  streams: number;
  /** Progress events received over all streams (the samples). */
  events: number;
}

export interface ProgressSizes {
  /** Concurrent streams on the task, one level after the other. */
  streams: number[];
  /** The task's steps; each reports progress once. */
  steps: number;
  stepMs: number;
}

export const PROGRESS_SIZES: ProgressSizes = { streams: [1, 100], steps: 60, stepMs: 50 };

/** Reads one task stream to its end, recording for each progress event how long after `at` it arrived. */
async function watch(url: string, latencies: number[]): Promise<void> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
  for await (const frame of sseFrames(res.body)) {
    if (frame.event !== 'progress') continue;
    latencies.push(Date.now() - Date.parse((JSON.parse(frame.data) as { at: string }).at));
  }
}

/**
 * Progress latency: `ctx.progress` in a worker process to an SSE client of an API process, through Redis, for 1 and
 * 100 concurrent streams on one task.
 */
export async function benchProgress(sizes: ProgressSizes = PROGRESS_SIZES): Promise<ProgressLatency[]> {
  const stack = await startBenchStack();
  const hosts = [
    await startHostProcess('worker', stack.settings),
    await startHostProcess('http', stack.settings),
  ];
  const api = hosts[1].line;
  try {
    const results: ProgressLatency[] = [];
    for (const streams of sizes.streams) {
      const { task } = await appServices().tasks.submit({
        owner: 'local',
        type: 'simulate',
        input: { steps: sizes.steps, stepMs: sizes.stepMs },
        requestHash: String(Math.random()),
        traceparent: '00-00000000000000000000000000000001-0000000000000001-01',
      });
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: streams }, () => watch(`${api}/api/tasks/${task.id}/events`, latencies)),
      );
      const summary = summarizeLatencies(latencies);
      results.push({ streams, events: summary.samples, ...summary });
    }
    return results;
  } finally {
    await stopChildren(hosts.map((h) => h.child));
    await closeAppServices();
    await stack.stop();
  }
}
