import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { Pool } from 'pg';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { closeAppServices, type AppServices } from '../../functions/app/app-services';
import { startEphemeralStack } from '../../local-dev/ephemeral-stack';
import { TEST_POSTGRES_URL, TEST_REDIS_URL } from './test-servers';

export interface AppStack {
  settings: Record<string, string>;
  pool: Pool;
  /** Rows, payload blobs and queued messages: what "writes nothing" is checked against. */
  counts(): Promise<{ tasks: number; payloads: number; messages: number }>;
  stop(): Promise<void>;
}

/** The app's Redis client: the test stack always has one. */
export function appRedis(services: AppServices): Promise<Redis> {
  assert.ok(services.redis, 'the test stack runs with Redis');
  return services.redis();
}

/** Puts the app's settings in process.env (where appServices() reads them); returns the undo. */
export function useSettings(settings: Record<string, string>): () => void {
  const previous = { ...process.env };
  Object.assign(process.env, settings);
  return () => {
    for (const key of Object.keys(settings)) {
      if (previous[key] === undefined) delete process.env[key];
      else process.env[key] = previous[key];
    }
  };
}

/**
 * Real Postgres (a fresh database), Redis, Azurite and the Service Bus emulator, with the app's settings in
 * process.env so handlers called directly use them.
 */
export async function startAppStack(overrides: Record<string, string> = {}): Promise<AppStack> {
  const stack = await startEphemeralStack({
    postgresServerUrl: TEST_POSTGRES_URL,
    redisUrl: TEST_REDIS_URL,
    prefix: 'longhaul_test',
    // The engine's info lines (each slice's end, each task's end) would bury the test report; tests that read logs ask.
    overrides: { LOG_LEVEL: 'warn', ...overrides },
  });
  const settings = stack.settings;
  const databaseUrl = stack.databaseUrl;
  const restoreEnv = useSettings(settings);
  await closeAppServices();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const blobs = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE);
  return {
    settings,
    pool,
    counts: async () => {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
      let payloads = 0;
      const container = blobs.getContainerClient('payloads');
      if (await container.exists()) for await (const _ of container.listBlobsFlat()) payloads++;
      // A fresh client: the SDK remembers where the last peek ended per client and entity.
      const peeker = new ServiceBusClient(stack.settings.ServiceBusConnection);
      const peeked = await peeker.createReceiver(settings.TASKS_QUEUE ?? 'tasks').peekMessages(1000);
      await peeker.close();
      return { tasks: rows[0].n, payloads, messages: peeked.length };
    },
    stop: async () => {
      await closeAppServices();
      await pool.end();
      await stack.stop();
      restoreEnv();
    },
  };
}
