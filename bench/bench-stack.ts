import { randomUUID } from 'node:crypto';
import { appServices } from '../functions/app/app-services';
import type { TaskRow } from '../functions/model/task';
import { DeadlineExceededError } from '../functions/platform/deadline';
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

/**
 * Submits a task straight to the app's task service (no HTTP), as the benchmark's own caller. Like a well-behaved
 * client (docs/api.md), with an Idempotency-Key, and again under it when a dependency ran past the submit deadline
 * (under a profiler, this machine's 2 cores can hold Azurite that long): the retry gets the task if it was stored.
 */
export async function submitTask(type: string, input: unknown, owner = 'local'): Promise<TaskRow> {
  const request = {
    owner,
    type,
    input,
    idempotencyKey: randomUUID(),
    requestHash: randomUUID(),
    traceparent: BENCH_TRACEPARENT,
  };
  for (;;) {
    try {
      return (await appServices().tasks.submit(request)).task;
    } catch (err) {
      if (!(err instanceof DeadlineExceededError)) throw err;
      console.error(`submit: ${err.message}; submitting again under the same Idempotency-Key`);
    }
  }
}
