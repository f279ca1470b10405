import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { closeAppServices, appServices } from '../functions/app-services';
import { sseFrames } from '../client/sse-frames';
import { startBenchStack } from './bench-stack';

export interface ProgressLatency {
  streams: number;
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function startHost(
  role: 'worker' | 'http',
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(__dirname, '..', 'local-dev', 'host-process.js'), '--role', role],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [url] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, url };
}

/** Reads one task stream to its end, recording for each progress event how long after `at` it arrived. */
async function watch(url: string, latencies: number[]): Promise<void> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
  for await (const frame of sseFrames(res.body)) {
    if (frame.event !== 'progress') continue;
    latencies.push(Date.now() - Date.parse((JSON.parse(frame.data) as { at: string }).at));
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/**
 * Progress latency: `ctx.progress` in a worker process to an SSE client of an API process, through Redis, for 1 and
 * 100 concurrent streams on one task.
 */
export async function benchProgress(): Promise<ProgressLatency[]> {
  const stack = await startBenchStack();
  const hosts = [await startHost('worker', stack.settings), await startHost('http', stack.settings)];
  const api = hosts[1].url;
  try {
    const results: ProgressLatency[] = [];
    for (const streams of [1, 100]) {
      const { task } = await appServices().tasks.submit({
        owner: 'local',
        type: 'simulate',
        input: { steps: 60, stepMs: 50 },
        requestHash: String(Math.random()),
        traceparent: '00-00000000000000000000000000000001-0000000000000001-01',
      });
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: streams }, () => watch(`${api}/api/tasks/${task.id}/events`, latencies)),
      );
      const sorted = latencies.sort((a, b) => a - b);
      results.push({
        streams,
        events: sorted.length,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        maxMs: sorted[sorted.length - 1],
      });
    }
    return results;
  } finally {
    for (const h of hosts) h.child.kill('SIGTERM');
    await Promise.all(hosts.map((h) => once(h.child, 'exit')));
    await closeAppServices();
    await stack.stop();
  }
}
