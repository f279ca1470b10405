import { randomUUID } from 'node:crypto';
import { appServices } from '../functions/app/app-services';
import type { TaskRow } from '../functions/model/task';
import { startEphemeralStack, type EphemeralStack } from '../local-dev/ephemeral-stack';

/** The benchmarks' submits all belong to one sampled trace. */
const BENCH_TRACEPARENT = '00-00000000000000000000000000000001-0000000000000001-01';

/** A benchmark's own stack on the machine's Postgres and Redis, with its settings in process.env. */
export async function startBenchStack(overrides: Record<string, string> = {}): Promise<EphemeralStack> {
  const stack = await startEphemeralStack({
    postgresServerUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: 'longhaul_bench',
    overrides,
  });
  Object.assign(process.env, stack.settings);
  return stack;
}

/** Submits a task straight to the app's task service (no HTTP), as the benchmark's own caller. */
export async function submitTask(type: string, input: unknown, owner = 'local'): Promise<TaskRow> {
  const { task } = await appServices().tasks.submit({
    owner,
    type,
    input,
    requestHash: randomUUID(),
    traceparent: BENCH_TRACEPARENT,
  });
  return task;
}
