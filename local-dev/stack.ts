import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { readEmulatorConfigFile, startServiceBusEmulator } from './servicebus-emulator';
import { startAzurite } from './services/azurite';
import { ensureDatabase, isPostgresReachable, startPostgres } from './services/postgres';
import { isRedisReachable, startRedis } from './services/redis';
import { findRepoRoot } from './services/repo-root';

const TASKS_QUEUE = 'tasks';
const DATABASE_NAME = 'longhaul';
// Fixed ports for `npm start`, so settings stay the same from one run to the next.
const DEFAULT_PORTS = {
  blob: 10000,
  queue: 10001,
  table: 10002,
  servicebus: 5673,
  postgres: 54329,
  redis: 63790,
};

export interface LocalStackOptions {
  /** Where the services keep their data (`.local/` for `npm start`). */
  stateDir: string;
  /** Use this Postgres when it answers; otherwise start a private one. */
  databaseUrl?: string;
  /** Use this Redis when it answers; otherwise start a private one. */
  redisUrl?: string;
  /** For tests: Azurite and Redis keep nothing on disk, and every port is a free one. */
  inMemory?: boolean;
  /** Default 5673; 0 → a free port. */
  servicebusPort?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  /** App settings for the Functions app: TASKS_STORAGE, ServiceBusConnection, TASKS_QUEUE, DATABASE_URL, REDIS_URL. */
  settings: Record<string, string>;
  /** Stops what the stack started (not servers it only connected to); idempotent. */
  stop(): Promise<void>;
}

/** A setting's value and how to stop what provides it. */
interface Provided {
  value: string;
  stop(): Promise<void>;
}

const nothingToStop = async () => undefined;

function hostOf(url: string): string {
  try {
    return new URL(url).host; // never the whole URL: it may hold a password
  } catch {
    return 'an unparsable URL';
  }
}

async function provideStorage(options: LocalStackOptions): Promise<Provided> {
  const azurite = await startAzurite({
    dataDir: options.inMemory ? undefined : join(options.stateDir, 'azurite'),
    blobPort: options.inMemory ? 0 : DEFAULT_PORTS.blob,
    queuePort: options.inMemory ? 0 : DEFAULT_PORTS.queue,
    tablePort: options.inMemory ? 0 : DEFAULT_PORTS.table,
    log: options.log,
  });
  try {
    await allowBrowserUploads(azurite.connectionString);
  } catch (err) {
    await azurite.stop();
    throw err;
  }
  return { value: azurite.connectionString, stop: azurite.stop };
}

/**
 * The web UI PUTs files straight to Blob storage through the SAS URLs of POST /api/uploads: a cross-origin request
 * that needs CORS on the Blob service. Any origin, since the app's port varies locally; the SAS is the permission.
 */
async function allowBrowserUploads(connectionString: string): Promise<void> {
  await BlobServiceClient.fromConnectionString(connectionString).setProperties({
    cors: [
      {
        allowedOrigins: '*',
        allowedMethods: 'PUT,OPTIONS',
        allowedHeaders: '*',
        exposedHeaders: '*',
        maxAgeInSeconds: 3600,
      },
    ],
  });
}

async function provideServiceBus(options: LocalStackOptions): Promise<Provided> {
  const config = readEmulatorConfigFile(join(findRepoRoot(), 'local-dev/servicebus-config.json'));
  const emulator = await startServiceBusEmulator({
    config,
    port: options.servicebusPort ?? DEFAULT_PORTS.servicebus,
    host: '127.0.0.1',
    log: options.log && ((line) => options.log?.(`[servicebus] ${line}`)),
  });
  return { value: emulator.connectionString, stop: () => emulator.close() };
}

async function provideDatabase(options: LocalStackOptions): Promise<Provided> {
  if (options.databaseUrl) {
    if (await isPostgresReachable(options.databaseUrl))
      return { value: options.databaseUrl, stop: nothingToStop };
    options.log?.(
      `DATABASE_URL (${hostOf(options.databaseUrl)}) does not answer; starting a private Postgres`,
    );
  }
  const server = await startPostgres({
    dataDir: join(options.stateDir, 'postgres'),
    port: options.inMemory ? 0 : DEFAULT_PORTS.postgres,
    log: options.log,
  });
  try {
    await ensureDatabase(server.url, DATABASE_NAME);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const url = new URL(server.url);
  url.pathname = `/${DATABASE_NAME}`;
  return { value: url.toString(), stop: server.stop };
}

async function provideRedis(options: LocalStackOptions): Promise<Provided> {
  if (options.redisUrl) {
    if (await isRedisReachable(options.redisUrl)) return { value: options.redisUrl, stop: nothingToStop };
    options.log?.(`REDIS_URL (${hostOf(options.redisUrl)}) does not answer; starting a private Redis`);
  }
  const server = await startRedis({
    dataDir: options.inMemory ? undefined : join(options.stateDir, 'redis'),
    port: options.inMemory ? 0 : DEFAULT_PORTS.redis,
    log: options.log,
  });
  return { value: server.url, stop: server.stop };
}

async function stopAll(provided: Provided[]): Promise<void> {
  const results = await Promise.allSettled(provided.map((p) => p.stop()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Brings up everything the app needs on this machine, in parallel: Azurite, the Service Bus emulator, Postgres and
 * Redis. If any of them fails, the others are stopped again and the first error is thrown.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const results = await Promise.allSettled([
    provideStorage(options),
    provideServiceBus(options),
    provideDatabase(options),
    provideRedis(options),
  ]);
  const provided = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll(provided).catch(() => undefined); // the start failure is the error worth reporting
    throw failed.reason;
  }
  const [storage, serviceBus, database, redis] = provided;
  let stopping: Promise<void> | undefined;
  return {
    settings: {
      TASKS_STORAGE: storage.value,
      ServiceBusConnection: serviceBus.value,
      TASKS_QUEUE,
      DATABASE_URL: database.value,
      REDIS_URL: redis.value,
    },
    stop: () => (stopping ??= stopAll(provided)),
  };
}
