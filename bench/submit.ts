import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

export interface LoadFigures {
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface SubmitBenchResult {
  durationSeconds: number;
  real: LoadFigures[];
  baseline: LoadFigures[];
}

const CONNECTIONS = [1, 10, 50];
const body = JSON.stringify({ type: 'simulate', input: { steps: 5, stepMs: 100 } });

async function withServer<T>(mode: 'real' | 'baseline', fn: (url: string) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [join(__dirname, 'submit-server.js'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [url] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    return await fn(url);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

async function load(url: string, connections: number, duration: number): Promise<LoadFigures> {
  const result = await autocannon({
    url: `${url}/api/tasks`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
  });
  return {
    connections,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * POST /api/tasks against the local stack at rising concurrency, beside the same parsing with no I/O. Each level
 * gets a fresh server and stack: Azurite's in-memory store slows down as blobs pile up (50 connections fell from 437
 * to 208 req/s over 30 s of submits, Azurite taking a whole core), which Blob storage in Azure does not.
 */
export async function benchSubmit(durationSeconds = 10): Promise<SubmitBenchResult> {
  const run = async (mode: 'real' | 'baseline') => {
    const figures: LoadFigures[] = [];
    for (const c of CONNECTIONS) {
      figures.push(
        await withServer(mode, async (url) => {
          await load(url, 10, 2); // warm-up: connections, JIT, pools
          return load(url, c, durationSeconds);
        }),
      );
    }
    return figures;
  };
  return { durationSeconds, real: await run('real'), baseline: await run('baseline') };
}
