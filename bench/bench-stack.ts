import { startEphemeralStack, type EphemeralStack } from '../local-dev/ephemeral-stack';

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
