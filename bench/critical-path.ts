import { join } from 'node:path';
import {
  AZURE_LATENCY_PROFILES,
  DEFAULT_LATENCY_PROFILE,
  routeThroughLatency,
  SERVICES,
  type LatencyProfile,
  type Service,
} from './azure-latency';
import { startBenchStack } from './bench-stack';
import type { CriticalPathClientOptions, TaskMilestones } from './critical-path-client';
import { runJsonChild, startHostProcess, stopChildren, type StartedChild } from './processes';
import { percentile } from './stats';

export interface CriticalPathSizes {
  warmupTasks: number;
  /** Tasks per phase, one after the other. */
  tasks: number;
  /** The round trip added to one service at a time to count its serial round trips. */
  sweepRttMs: number;
}

export const CRITICAL_PATH_SIZES: CriticalPathSizes = { warmupTasks: 10, tasks: 60, sweepRttMs: 20 };

/** Stretches of a no-op task's critical path, between the milestones of critical-path-client.ts. */
export const SEGMENTS = {
  /** POST sent → 202 received: the submit, a branch beside the chain below (the message leaves before the 202). */
  accept: (m: TaskMilestones) => m.accepted,
  /** POST sent → `running` written: the submit's writes, the message's delivery, the worker's start. */
  start: (m: TaskMilestones) => m.running,
  /** `running` → the step's progress written: payload, replay, the step and its checkpoint. */
  step: (m: TaskMilestones) => m.stepped - m.running,
  /** The step's progress → terminal status written: result and finish. */
  finish: (m: TaskMilestones) => m.ended - m.stepped,
  /** Terminal status written → `end` read by the client: publish, relay, and the stream's own start. */
  deliver: (m: TaskMilestones) => m.seen - m.ended,
  /** The whole: POST sent → `end` read by the client. */
  total: (m: TaskMilestones) => m.seen,
} as const;
export type Segment = keyof typeof SEGMENTS;

export interface CriticalPathPhase {
  /** `local` (proxies, no added latency), a service's name (it alone at sweepRttMs), or the profile's name. */
  name: string;
  /** p50 of each segment over the phase's tasks, ms. */
  p50Ms: Record<Segment, number>;
  /** p99 of the whole, ms. */
  totalP99Ms: number;
}

export interface CriticalPathResult {
  sizes: CriticalPathSizes;
  profileName: string;
  profile: LatencyProfile;
  phases: CriticalPathPhase[];
  /**
   * Serial round trips per service and segment: how much the segment's p50 grew when that service alone got
   * sweepRttMs more per round trip, over sweepRttMs. A one-way leg (a message delivered to a waiting receiver, a
   * publish reaching a subscriber) counts half.
   */
  roundTrips: Record<Service, Record<Segment, number>>;
  /** Σ over services of the whole's round trips × the profile's mean round trip (rtt + jitter / 2): ms. */
  criticalPathMs: number;
  /** The whole's p50 under the profile, ms, and its ratio to criticalPathMs (issue 21's target: ≤ 1.5). */
  modelP50Ms: number;
  ratio: number;
}

function p50s(milestones: TaskMilestones[]): Record<Segment, number> {
  return Object.fromEntries(
    Object.entries(SEGMENTS).map(([segment, of]) => [
      segment,
      percentile(Float64Array.from(milestones.map(of)).sort(), 0.5),
    ]),
  ) as Record<Segment, number>;
}

/**
 * The critical path of a no-op task under the Azure latency model: an API and a worker process on the local stack,
 * every dependency behind a latency-injecting proxy. Tasks run one at a time in phases: no added latency, then each
 * service alone at `sweepRttMs` (its serial round trips, per segment, are the growth over `sweepRttMs`), then the
 * whole profile.
 */
export async function benchCriticalPath(
  sizes: CriticalPathSizes = CRITICAL_PATH_SIZES,
  profileName = DEFAULT_LATENCY_PROFILE,
): Promise<CriticalPathResult> {
  const profile = AZURE_LATENCY_PROFILES[profileName];
  if (!profile) throw new Error(`unknown latency profile ${profileName}`);
  const stack = await startBenchStack();
  const route = await routeThroughLatency(stack.settings);
  const children: StartedChild[] = [];
  try {
    const api = await startHostProcess('http', route.settings);
    children.push(api, await startHostProcess('worker', route.settings));
    const phases: CriticalPathPhase[] = [];
    const phase = async (name: string, latencies: Partial<LatencyProfile>, warmupTasks: number) => {
      route.apply(latencies);
      const options: CriticalPathClientOptions = { apiUrl: api.line, warmupTasks, tasks: sizes.tasks };
      const milestones = await runJsonChild<TaskMilestones[]>(
        join(__dirname, 'critical-path-client.js'),
        [JSON.stringify(options)],
        300_000,
      );
      const totals = Float64Array.from(milestones.map(SEGMENTS.total)).sort();
      const result = { name, p50Ms: p50s(milestones), totalP99Ms: percentile(totals, 0.99) };
      phases.push(result);
      return result;
    };
    const local = await phase('local', {}, sizes.warmupTasks);
    const roundTrips = {} as CriticalPathResult['roundTrips'];
    for (const service of SERVICES) {
      const swept = await phase(service, { [service]: { rttMs: sizes.sweepRttMs, jitterMs: 0 } }, 2);
      roundTrips[service] = Object.fromEntries(
        Object.keys(SEGMENTS).map((segment) => [
          segment,
          Math.round(
            ((swept.p50Ms[segment as Segment] - local.p50Ms[segment as Segment]) / sizes.sweepRttMs) * 10,
          ) / 10,
        ]),
      ) as Record<Segment, number>;
    }
    const model = await phase(profileName, profile, 2);
    const criticalPathMs = SERVICES.reduce(
      (sum, s) => sum + Math.max(0, roundTrips[s].total) * (profile[s].rttMs + profile[s].jitterMs / 2),
      0,
    );
    return {
      sizes,
      profileName,
      profile,
      phases,
      roundTrips,
      criticalPathMs,
      modelP50Ms: model.p50Ms.total,
      ratio: model.p50Ms.total / criticalPathMs,
    };
  } finally {
    await stopChildren(children.map((c) => c.child));
    await route.close();
    await stack.stop();
  }
}
