import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../local-dev/services/repo-root';
import { AZURE_LATENCY_PROFILES, routeThroughLatency } from './azure-latency';
import { startBenchStack } from './bench-stack';
import { startBullmqWorkers } from './bullmq-baseline';
import {
  monotonicUs,
  profileThisProcess,
  readProfileFrom,
  summarizeProfile,
  type ProfileSummary,
} from './cpu-profile';
import type { EndToEndClientOptions, EndToEndClientResult } from './end-to-end-client';
import { cpuMsOf, runJsonChild, startHostProcess, stopChildren, type StartedChild } from './processes';

export interface EndToEndSizes {
  workerCounts: number[];
  warmupTasks: number;
  latencyTasks: number;
  burstTasks: number;
  burstConcurrency: number;
}

export interface EndToEndSession extends EndToEndClientResult {
  system: 'longhaul' | 'bullmq';
  workers: number;
  /** The machine's 1-minute load average before and after the session. */
  loadAverage: [number, number];
  /**
   * CPU time per task over the whole session (warm-up, latency, burst), in ms: all worker processes together, and
   * for Longhaul the API process (Azurite, the emulator, Postgres and Redis are not in it).
   */
  cpuMsPerTask: { workers: number; api?: number };
}

export interface EndToEndResult {
  sizes: EndToEndSizes;
  /** Jobs one worker process runs at once, for both systems: host.json's serviceBus.maxConcurrentCalls. */
  workerConcurrency: number;
  /** The Azure latency model the session ran under (bench/azure-latency.ts), if any. */
  latencyProfile?: string;
  sessions: EndToEndSession[];
  /** Longhaul over BullMQ, per worker count: latencies (higher is slower) and tasks/s (lower is slower). */
  ratios: { workers: number; p50: number; p99: number; tasksPerSecond: number }[];
}

/**
 * 200 tasks one at a time, then a burst of 500: on this 2-core machine Longhaul finishes 5–30 no-op tasks a second
 * depending on the load, so a larger burst would make the benchmark minutes longer without changing its figures.
 */
export const END_TO_END_SIZES: EndToEndSizes = {
  workerCounts: [1, 4],
  warmupTasks: 20,
  latencyTasks: 200,
  burstTasks: 500,
  burstConcurrency: 16,
};

/**
 * Under the Azure latency model: 1 to 8 worker processes, to see whether I/O-bound work scales out as it does on
 * Azure's instances (tasks wait on round trips, not on the CPU); a smaller latency phase, each task takes longer.
 */
export const AZURE_END_TO_END_SIZES: EndToEndSizes = {
  workerCounts: [1, 2, 4, 8],
  warmupTasks: 10,
  latencyTasks: 100,
  burstTasks: 500,
  burstConcurrency: 16,
};

/** For the profile: one worker process, enough tasks for a stable picture of where the time goes. */
export const PROFILE_END_TO_END_SIZES: EndToEndSizes = {
  workerCounts: [1],
  warmupTasks: 10,
  latencyTasks: 50,
  burstTasks: 200,
  burstConcurrency: 16,
};

/** The session's load generator; 10 minutes is far beyond any healthy session, so a lost task fails the run. */
function runClient(options: EndToEndClientOptions): Promise<EndToEndClientResult> {
  return runJsonChild(join(__dirname, 'end-to-end-client.js'), [JSON.stringify(options)], 600_000);
}

/**
 * End to end: a no-op task from submit until a client sees it finish, on one machine with the same Redis.
 * Longhaul: POST /api/tasks to an API process, worker processes (the local host running the Service Bus trigger),
 * `end` on the task's SSE stream. BullMQ: `Queue.add`, worker processes reporting progress once, `completed` on
 * `QueueEvents`. For each worker count the two systems run back to back; each session first runs tasks one at a
 * time (latency), then a burst (tasks/s).
 */
export async function benchEndToEnd(
  sizes: EndToEndSizes = END_TO_END_SIZES,
  latencyProfile?: string,
): Promise<EndToEndResult> {
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as {
    extensions: { serviceBus: { maxConcurrentCalls: number } };
  };
  const workerConcurrency = hostJson.extensions.serviceBus.maxConcurrentCalls;
  // The caller stream of a burst must outlive it; 225 s is the most the app allows.
  const stack = await startBenchStack({ SSE_MAX_SECONDS: '225' });
  // Under a latency model both systems reach every dependency through its proxy (BullMQ its Redis).
  const route = latencyProfile === undefined ? undefined : await routeThroughLatency(stack.settings);
  route?.apply(AZURE_LATENCY_PROFILES[latencyProfile!] ?? unknownProfile(latencyProfile!));
  const settings = route?.settings ?? stack.settings;
  const children: StartedChild[] = [];
  const phase = { warmupTasks: sizes.warmupTasks, latencyTasks: sizes.latencyTasks } as const;
  const burst = { burstTasks: sizes.burstTasks, burstConcurrency: sizes.burstConcurrency } as const;
  try {
    const api = await startHostProcess('http', settings);
    children.push(api);
    const sessions: EndToEndSession[] = [];
    const session = async (
      system: EndToEndSession['system'],
      workers: number,
      start: () => Promise<StartedChild[]>,
      options: EndToEndClientOptions,
    ) => {
      const load = loadavg()[0];
      const started = await start();
      children.push(...started);
      try {
        const cpu = () => ({
          workers: started.reduce((sum, s) => sum + cpuMsOf(s.child.pid!), 0),
          api: system === 'longhaul' ? cpuMsOf(api.child.pid!) : undefined,
        });
        const before = cpu();
        const result = await runClient(options);
        const after = cpu();
        const tasks = sizes.warmupTasks + sizes.latencyTasks + sizes.burstTasks;
        const cpuMsPerTask = {
          workers: (after.workers - before.workers) / tasks,
          api: after.api === undefined ? undefined : (after.api - before.api!) / tasks,
        };
        sessions.push({ system, workers, ...result, loadAverage: [load, loadavg()[0]], cpuMsPerTask });
      } finally {
        await stopChildren(started.map((s) => s.child));
      }
    };
    for (const workers of sizes.workerCounts) {
      await session(
        'longhaul',
        workers,
        () => Promise.all(Array.from({ length: workers }, () => startHostProcess('worker', settings))),
        { system: 'longhaul', apiUrl: api.line, ...phase, ...burst },
      );
      const queue = `longhaul-bench-${workers}-${Date.now()}`;
      await session(
        'bullmq',
        workers,
        () => startBullmqWorkers(workers, settings.REDIS_URL, queue, workerConcurrency),
        { system: 'bullmq', redisUrl: settings.REDIS_URL, queue, ...phase, ...burst },
      );
    }
    const ratios = sizes.workerCounts.map((workers) => {
      const of = (system: EndToEndSession['system']) =>
        sessions.find((s) => s.system === system && s.workers === workers)!;
      const [l, b] = [of('longhaul'), of('bullmq')];
      return {
        workers,
        p50: l.latency.p50Ms / b.latency.p50Ms,
        p99: l.latency.p99Ms / b.latency.p99Ms,
        tasksPerSecond: l.burst.tasksPerSecond / b.burst.tasksPerSecond,
      };
    });
    return { sizes, workerConcurrency, latencyProfile, sessions, ratios };
  } finally {
    await stopChildren(children.map((c) => c.child));
    await route?.close();
    await stack.stop();
  }
}

function unknownProfile(name: string): never {
  throw new Error(
    `unknown latency profile ${name}; known: ${Object.keys(AZURE_LATENCY_PROFILES).join(', ')}`,
  );
}

export interface EndToEndProfile {
  sizes: EndToEndSizes;
  /** The profiled session's own figures: slowed by the profilers, not the benchmark's. */
  session: EndToEndClientResult;
  profiles: { api: ProfileSummary; worker: ProfileSummary; stack: ProfileSummary };
}

/**
 * One Longhaul session of the end-to-end benchmark (one worker process) under CPU profilers: the API and worker
 * processes under `node --cpu-prof`, this process (Azurite and the Service Bus emulator) under the inspector's
 * profiler; each summarised over the session only.
 */
export async function profileEndToEnd(
  sizes: EndToEndSizes = PROFILE_END_TO_END_SIZES,
): Promise<EndToEndProfile> {
  const stack = await startBenchStack({ SSE_MAX_SECONDS: '225' });
  const dir = mkdtempSync(join(tmpdir(), 'longhaul-bench-profile-'));
  const cpuProf = (name: string) => {
    mkdirSync(join(dir, name));
    return ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`];
  };
  const children: StartedChild[] = [];
  try {
    children.push(await startHostProcess('http', stack.settings, cpuProf('api')));
    children.push(await startHostProcess('worker', stack.settings, cpuProf('worker')));
    const window: [number, number] = [monotonicUs(), 0];
    const { result, profile } = await profileThisProcess(() =>
      runClient({
        system: 'longhaul',
        apiUrl: children[0].line,
        warmupTasks: sizes.warmupTasks,
        latencyTasks: sizes.latencyTasks,
        burstTasks: sizes.burstTasks,
        burstConcurrency: sizes.burstConcurrency,
      }),
    );
    window[1] = monotonicUs();
    // The children write their profiles as they exit.
    await stopChildren(children.map((c) => c.child));
    return {
      sizes,
      session: result,
      profiles: {
        api: summarizeProfile(readProfileFrom(join(dir, 'api')), window),
        worker: summarizeProfile(readProfileFrom(join(dir, 'worker')), window),
        stack: summarizeProfile(profile, window),
      },
    };
  } finally {
    await stopChildren(children.map((c) => c.child));
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
