import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { DEFAULT_TIMINGS } from '../functions/events/event-stream-base';
import { readEmulatorConfigFile, startServiceBusEmulator } from './servicebus-emulator';
import { startAzurite } from './services/azurite';
import { commandLineOf, isAlive, stopPid } from './services/managed-process';
import { isPortAnswering } from './services/ports';
import {
  ensureDatabase,
  isPostgresReachable,
  POSTGRES_STOP_SIGNAL,
  startPostgres,
} from './services/postgres';
import { findRedisServer, isRedisReachable, redisMissing, startRedis } from './services/redis';
import { findRepoRoot } from './services/repo-root';
import { startServiceBusEmulatorProcess } from './services/servicebus';
import {
  readStackRecord,
  removeStackRecord,
  SERVICE_NAMES,
  writeStackRecord,
  type ServiceName,
  type ServiceRecord,
} from './stack-record';

const TASKS_QUEUE = 'tasks';
const POLL_SECONDS = DEFAULT_TIMINGS.pollMs / 1000;
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
const STOP_SIGNALS: Record<ServiceName, NodeJS.Signals> = {
  servicebus: 'SIGTERM',
  azurite: 'SIGTERM',
  redis: 'SIGTERM',
  postgres: POSTGRES_STOP_SIGNAL,
};
const WATCH_MS = 1_000;

export interface LocalStackOptions {
  /** Where the services keep their data, logs and the record of what runs (`.local/` for `npm start`). */
  stateDir: string;
  /** Use this Postgres when it answers; otherwise start a private one. */
  databaseUrl?: string;
  /** Use this Redis when it answers; otherwise start a private one. */
  redisUrl?: string;
  /**
   * For tests: Azurite and Redis keep nothing on disk, every port is a free one, the Service Bus emulator runs in
   * this process, the services are children in this process's group (they die with it), and nothing is recorded.
   * Otherwise (`npm start`) each service runs detached, outlives this process, and is recorded in
   * `<stateDir>/stack.json`, so the next start reattaches to it.
   */
  inMemory?: boolean;
  /** Free ports instead of the fixed ones when not in memory (tests that run `npm start`'s script). */
  freePorts?: boolean;
  /** The emulator's Config.json; default local-dev/servicebus-config.json. */
  servicebusConfig?: string;
  /** Default 5673, or a free port with inMemory or freePorts; 0 → a free port. */
  servicebusPort?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  /**
   * App settings for the Functions app: TASKS_STORAGE, ServiceBusConnection, TASKS_QUEUE, DATABASE_URL, and REDIS_URL
   * or (no Redis) LOCAL_WITHOUT_REDIS.
   */
  settings: Record<string, string>;
  /**
   * Stops what the stack runs (not servers it only connected to), one after the other: the emulator, Azurite, Redis,
   * Postgres; then forgets the record. Idempotent.
   */
  stop(): Promise<void>;
}

/** A setting's value and how to stop what provides it. */
interface Provided {
  value: string;
  stop(): Promise<void>;
}

/** A service this start launched: its process (none for the in-process emulator) and the ports it answers on. */
interface Started extends Provided {
  pid?: number;
  ports: number[];
}

interface Context {
  options: LocalStackOptions;
  /** What the previous start left in the record. */
  previous: ServiceRecord[];
  /** Adds a running service to the record (nothing in memory). */
  record(service: ServiceRecord): void;
}

const nothingToStop = async () => undefined;

function hostOf(url: string): string {
  try {
    return new URL(url).host; // never the whole URL: it may hold a password
  } catch {
    return 'an unparsable URL';
  }
}

const portOf = (url: string) => Number(new URL(url).port);

function fixedPort(options: LocalStackOptions, port: number): number {
  return options.inMemory || options.freePorts ? 0 : port;
}

function logFileOf(options: LocalStackOptions, name: ServiceName): string | undefined {
  return options.inMemory ? undefined : join(options.stateDir, 'logs', `${name}.log`);
}

/** Whether the recorded process still runs the same program: a pid alone may have been reused since. */
function stillRuns(service: ServiceRecord): boolean {
  return isAlive(service.pid) && isDeepStrictEqual(commandLineOf(service.pid), service.commandLine);
}

/** A recorded service used as it is; it is watched, since nothing else would notice it die. */
function reattach(context: Context, service: ServiceRecord): Provided {
  const { log } = context.options;
  log?.(`reattached to ${service.name} (pid ${service.pid}), left running by an earlier start`);
  context.record(service);
  let stopping = false;
  const watch = setInterval(() => {
    if (isAlive(service.pid)) return;
    clearInterval(watch);
    if (!stopping) log?.(`[${service.name}] exited unexpectedly`);
  }, WATCH_MS).unref();
  return {
    value: service.value,
    stop: async () => {
      stopping = true;
      clearInterval(watch);
      await stopPid(service.pid, STOP_SIGNALS[service.name]);
    },
  };
}

/**
 * The recorded service if it still runs and answers; otherwise a fresh one, on the same data, recorded. One that runs
 * but does not answer is stopped first: it holds the data folder and the ports.
 */
async function reattachOrStart(
  context: Context,
  name: ServiceName,
  start: () => Promise<Started>,
): Promise<Provided> {
  const recorded = context.previous.find((s) => s.name === name);
  if (recorded && stillRuns(recorded)) {
    const answers = await Promise.all(recorded.ports.map((port) => isPortAnswering(port)));
    if (answers.every(Boolean)) return reattach(context, recorded);
    context.options.log?.(`${name} (pid ${recorded.pid}) does not answer; stopping it to start it again`);
    await stopPid(recorded.pid, STOP_SIGNALS[name]);
  }
  const started = await start();
  if (started.pid !== undefined) {
    context.record({
      name,
      pid: started.pid,
      commandLine: commandLineOf(started.pid) ?? [],
      ports: started.ports,
      value: started.value,
      startedAt: new Date().toISOString(),
    });
  }
  return started;
}

async function startStorage({ options }: Context): Promise<Started> {
  const azurite = await startAzurite({
    dataDir: options.inMemory ? undefined : join(options.stateDir, 'azurite'),
    blobPort: fixedPort(options, DEFAULT_PORTS.blob),
    queuePort: fixedPort(options, DEFAULT_PORTS.queue),
    tablePort: fixedPort(options, DEFAULT_PORTS.table),
    logFile: logFileOf(options, 'azurite'),
    log: options.log,
  });
  try {
    await allowBrowserUploads(azurite.connectionString);
  } catch (err) {
    await azurite.stop();
    throw err;
  }
  const endpoints = [azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint];
  return {
    pid: azurite.pid,
    ports: endpoints.map(portOf),
    value: azurite.connectionString,
    stop: azurite.stop,
  };
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

async function startServiceBus({ options }: Context): Promise<Started> {
  const configPath = options.servicebusConfig ?? join(findRepoRoot(), 'local-dev/servicebus-config.json');
  const port = options.servicebusPort ?? fixedPort(options, DEFAULT_PORTS.servicebus);
  const log = options.log && ((line: string) => options.log?.(`[servicebus] ${line}`));
  if (options.inMemory) {
    const emulator = await startServiceBusEmulator({
      config: readEmulatorConfigFile(configPath),
      port,
      host: '127.0.0.1',
      log,
    });
    return { ports: [emulator.port], value: emulator.connectionString, stop: () => emulator.close() };
  }
  // A process of its own with its messages on disk: like Azure's broker, it outlives the app's host.
  const emulator = await startServiceBusEmulatorProcess({
    configPath,
    dataDir: join(options.stateDir, 'servicebus'),
    port,
    logFile: logFileOf(options, 'servicebus'),
    log: options.log,
  });
  const listening = Number(/^Endpoint=sb:\/\/[^:/]+:(\d+)/.exec(emulator.connectionString)?.[1]);
  return { pid: emulator.pid, ports: [listening], value: emulator.connectionString, stop: emulator.stop };
}

async function provideDatabase(context: Context): Promise<Provided> {
  const { options } = context;
  if (options.databaseUrl) {
    if (await isPostgresReachable(options.databaseUrl))
      return { value: options.databaseUrl, stop: nothingToStop };
    options.log?.(
      `DATABASE_URL (${hostOf(options.databaseUrl)}) does not answer; starting a private Postgres`,
    );
  }
  return reattachOrStart(context, 'postgres', async () => {
    const server = await startPostgres({
      dataDir: join(options.stateDir, 'postgres'),
      port: fixedPort(options, DEFAULT_PORTS.postgres),
      logFile: logFileOf(options, 'postgres'),
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
    return { pid: server.pid, ports: [portOf(server.url)], value: url.toString(), stop: server.stop };
  });
}

/**
 * The app can run without Redis (LOCAL_WITHOUT_REDIS): when none answers and the machine has no server to start, the
 * stack says so in one line and goes on without it.
 */
async function provideRedis(context: Context): Promise<Provided | undefined> {
  const { options } = context;
  const installed = findRedisServer() !== undefined;
  if (options.redisUrl) {
    if (await isRedisReachable(options.redisUrl)) return { value: options.redisUrl, stop: nothingToStop };
    const next = installed ? 'starting a private Redis' : 'and there is no Redis to start';
    options.log?.(`REDIS_URL (${hostOf(options.redisUrl)}) does not answer; ${next}`);
  }
  if (!installed) {
    options.log?.(
      `${redisMissing()}. Running without it: event streams read Postgres every ${POLL_SECONDS} s instead of live ` +
        'pub/sub (the web UI says "Polling"), and rate limits are counted in this process.',
    );
    return undefined;
  }
  return reattachOrStart(context, 'redis', async () => {
    const server = await startRedis({
      dataDir: options.inMemory ? undefined : join(options.stateDir, 'redis'),
      port: fixedPort(options, DEFAULT_PORTS.redis),
      logFile: logFileOf(options, 'redis'),
      log: options.log,
    });
    return { pid: server.pid, ports: [portOf(server.url)], value: server.url, stop: server.stop };
  });
}

/** Stops one after the other, in SERVICE_NAMES order; throws the first failure once all were tried. */
async function stopInOrder(provided: Map<ServiceName, Provided>): Promise<void> {
  let failure: unknown;
  for (const name of SERVICE_NAMES) {
    await provided
      .get(name)
      ?.stop()
      .catch((err: unknown) => (failure ??= err));
  }
  if (failure !== undefined) throw failure;
}

/** Recorded services this start no longer uses (a private Postgres, now that DATABASE_URL answers) are stopped. */
async function stopLeftovers(context: Context, used: ReadonlySet<ServiceName>): Promise<void> {
  for (const service of context.previous) {
    if (used.has(service.name) || !stillRuns(service)) continue;
    context.options.log?.(`stopping ${service.name} (pid ${service.pid}), left running but no longer used`);
    await stopPid(service.pid, STOP_SIGNALS[service.name]);
  }
}

/**
 * Brings up everything the app needs on this machine, in parallel: Azurite, the Service Bus emulator, Postgres and
 * Redis, reattaching to those an earlier start left running (see LocalStackOptions.inMemory). If any of them fails,
 * the others are stopped again and the first error is thrown.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const recorded = new Map<ServiceName, ServiceRecord>();
  const context: Context = {
    options,
    previous: options.inMemory ? [] : readStackRecord(options.stateDir),
    record: (service) => {
      if (options.inMemory) return;
      recorded.set(service.name, service);
      writeStackRecord(options.stateDir, [...recorded.values()]);
    },
  };
  const forget = () => {
    if (!options.inMemory) removeStackRecord(options.stateDir);
  };
  const names = ['azurite', 'servicebus', 'postgres', 'redis'] as const;
  const results = await Promise.allSettled([
    reattachOrStart(context, 'azurite', () => startStorage(context)),
    reattachOrStart(context, 'servicebus', () => startServiceBus(context)),
    provideDatabase(context),
    provideRedis(context),
  ]);
  const provided = new Map<ServiceName, Provided>();
  results.forEach((r, i) => r.status === 'fulfilled' && r.value && provided.set(names[i], r.value));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopInOrder(provided).catch(() => undefined); // the start failure is the error worth reporting
    forget();
    throw failed.reason;
  }
  await stopLeftovers(context, new Set(recorded.keys()));
  const value = (name: ServiceName) => (provided.get(name) as Provided).value;
  const redis = provided.get('redis');
  let stopping: Promise<void> | undefined;
  return {
    settings: {
      TASKS_STORAGE: value('azurite'),
      ServiceBusConnection: value('servicebus'),
      TASKS_QUEUE,
      DATABASE_URL: value('postgres'),
      // Empty values override what local.settings.json or the environment may hold.
      ...(redis
        ? { REDIS_URL: redis.value }
        : { REDIS_URL: '', REDIS_HOST: '', LOCAL_WITHOUT_REDIS: 'true' }),
    },
    stop: () => (stopping ??= stopInOrder(provided).finally(forget)),
  };
}
