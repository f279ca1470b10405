import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runMigrations } from '../functions/storage/migrate';
import {
  readEmulatorConfigFile,
  startServiceBusEmulator,
  type PressureOptions,
} from '../local-dev/servicebus-emulator';
import { startAzurite } from '../local-dev/services/azurite';
import { freePort } from '../local-dev/services/ports';
import { ensureDatabase, startPostgres } from '../local-dev/services/postgres';
import { startRedis } from '../local-dev/services/redis';
import { findRepoRoot } from '../local-dev/services/repo-root';

export type ServiceName = 'postgres' | 'redis' | 'azurite' | 'servicebus';

/** A private service that can be taken down and brought back on the same port (clients reconnect by address). */
export interface RestartableService {
  /** Stops it, waits `downMs`, starts it again with the same port and data. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosStack {
  settings: Record<string, string>;
  services: Record<ServiceName, RestartableService>;
  stop(): Promise<void>;
}

function restartable(
  start: () => Promise<() => Promise<void>>,
  first: () => Promise<void>,
): RestartableService {
  let stopCurrent: (() => Promise<void>) | undefined = first;
  return {
    restart: async (downMs) => {
      await stopCurrent?.();
      stopCurrent = undefined;
      await sleep(downMs);
      stopCurrent = await start();
    },
    stop: async () => {
      await stopCurrent?.();
      stopCurrent = undefined;
    },
  };
}

/**
 * Postgres, Redis, Azurite and the Service Bus emulator, each a private child process on ports picked once, with its
 * data in a temporary folder: unlike `startLocalStack`, each can be restarted on its own without touching anything
 * else on the machine. Postgres and Azurite keep their data across a restart (as in Azure); Redis and the emulator
 * hold theirs in memory, so a restart loses it, which is the harder case.
 */
export async function startChaosStack(
  options: {
    lockSeconds?: number;
    /** The Service Bus emulator's pressure mode (throttling, lock losses, forced disconnects); off without it. */
    pressure?: PressureOptions;
    /** The emulator's log lines (pressure mode reports what it inflicted). */
    log?: (line: string) => void;
  } = {},
): Promise<ChaosStack> {
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-chaos-'));
  // mkdtemp makes it private; as root, Postgres runs as the `postgres` user, which must be able to enter it.
  await chmod(dir, 0o755);
  const started: RestartableService[] = [];
  try {
    const [pgPort, redisPort, blobPort, queuePort, tablePort, sbPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const postgresStart = async () =>
      (await startPostgres({ dataDir: join(dir, 'postgres'), port: pgPort })).stop;
    const serverUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
    const databaseUrl = serverUrl.replace(/\/postgres$/, '/longhaul');
    const redisStart = async () => (await startRedis({ port: redisPort })).stop;
    let storage = '';
    const azuriteStart = async () => {
      const azurite = await startAzurite({ dataDir: join(dir, 'azurite'), blobPort, queuePort, tablePort });
      storage = azurite.connectionString;
      return azurite.stop;
    };
    // The services are independent: started side by side, each registered as soon as it runs (so a failure stops it).
    const startAndRegister = async (start: () => Promise<() => Promise<void>>) => {
      const service = restartable(start, await start());
      started.push(service);
      return service;
    };
    const [postgres, redis, azurite] = await Promise.all([
      startAndRegister(postgresStart).then(async (service) => {
        await ensureDatabase(serverUrl, 'longhaul');
        await runMigrations(databaseUrl);
        return service;
      }),
      startAndRegister(redisStart),
      startAndRegister(azuriteStart),
    ]);

    const fileConfig = readEmulatorConfigFile(join(findRepoRoot(), 'local-dev/servicebus-config.json'));
    const { lockSeconds } = options;
    const config = lockSeconds
      ? {
          ...fileConfig,
          queues: fileConfig.queues.map((q) => ({ ...q, lockDurationMs: lockSeconds * 1000 })),
        }
      : fileConfig;
    let serviceBusConnection = '';
    const servicebusStart = async () => {
      const emulator = await startServiceBusEmulator({
        config,
        port: sbPort,
        host: '127.0.0.1',
        pressure: options.pressure,
        log: options.log,
      });
      serviceBusConnection = emulator.connectionString;
      return () => emulator.close();
    };
    const servicebus = restartable(servicebusStart, await servicebusStart());
    started.push(servicebus);

    return {
      settings: {
        TASKS_STORAGE: storage,
        ServiceBusConnection: serviceBusConnection,
        TASKS_QUEUE: 'tasks',
        DATABASE_URL: databaseUrl,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      },
      services: { postgres, redis, azurite, servicebus },
      stop: async () => {
        await Promise.allSettled(started.map((s) => s.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
