import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMigrations } from '../functions/storage/migrate';
import { dropDatabase, ensureDatabase } from './services/postgres';
import { startLocalStack } from './stack';

/**
 * The per-caller rate limits are off unless a test turns them on. Every test and benchmark is the caller `local` on
 * the machine's one Redis, so counters would carry over from one test file (or a concurrent run) to the next, and
 * limits would trip on whatever ran before rather than on what the test does.
 */
const UNLIMITED: Record<string, string> = {
  RATE_LIMIT_SUBMITS_PER_MINUTE: '0',
  RATE_LIMIT_READS_PER_MINUTE: '0',
  MAX_ACTIVE_TASKS_PER_CALLER: '0',
};

export interface EphemeralStack {
  /** The app settings: the stack's connections plus the overrides. */
  settings: Record<string, string>;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * A throw-away local stack for tests and benchmarks: a fresh, migrated database on an existing Postgres server, the
 * given Redis, and Azurite and the Service Bus emulator in memory on free ports. Everything goes on stop().
 */
export async function startEphemeralStack(options: {
  postgresServerUrl: string;
  redisUrl: string;
  prefix: string;
  overrides?: Record<string, string>;
}): Promise<EphemeralStack> {
  const database = `${options.prefix}_${randomBytes(5).toString('hex')}`;
  await ensureDatabase(options.postgresServerUrl, database);
  const databaseUrl = options.postgresServerUrl.replace(/\/[^/]*$/, `/${database}`);
  const stateDir = await mkdtemp(join(tmpdir(), `${options.prefix}-`));
  const stack = await startLocalStack({
    stateDir,
    inMemory: true,
    databaseUrl,
    redisUrl: options.redisUrl,
    servicebusPort: 0,
  });
  await runMigrations(databaseUrl);
  return {
    // Its own Redis namespace too: stacks that share one Redis (test files run side by side) see only their own events.
    settings: { ...UNLIMITED, ...stack.settings, REDIS_NAMESPACE: database, ...options.overrides },
    databaseUrl,
    stop: async () => {
      await stack.stop();
      await dropDatabase(options.postgresServerUrl, database);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
