import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMigrations } from '../functions/storage/migrate';
import { dropDatabase, ensureDatabase } from '../local-dev/services/postgres';
import { startLocalStack } from '../local-dev/stack';

const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchStack {
  settings: Record<string, string>;
  databaseUrl: string;
  stop(): Promise<void>;
}

/** The local stack for a benchmark: its own database on the machine's Postgres, in-memory Azurite and emulator. */
export async function startBenchStack(overrides: Record<string, string> = {}): Promise<BenchStack> {
  const database = `longhaul_bench_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(POSTGRES_SERVER, database);
  const databaseUrl = POSTGRES_SERVER.replace(/\/[^/]*$/, `/${database}`);
  const stateDir = await mkdtemp(join(tmpdir(), 'longhaul-bench-'));
  const stack = await startLocalStack({
    stateDir,
    inMemory: true,
    databaseUrl,
    redisUrl: REDIS_URL,
    servicebusPort: 0,
  });
  await runMigrations(databaseUrl);
  const settings = { ...stack.settings, ...overrides };
  Object.assign(process.env, settings);
  return {
    settings,
    databaseUrl,
    stop: async () => {
      await stack.stop();
      await dropDatabase(POSTGRES_SERVER, database);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
