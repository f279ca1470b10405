import { mkdirSync } from 'node:fs';
import Redis from 'ioredis';
import { findInPath } from './executables';
import { startManagedProcess } from './managed-process';
import { freePort } from './ports';

const MISSING =
  'redis-server not found in PATH: install it with `apt-get install redis-server`, or set REDIS_URL to a running server';
const READY = /Ready to accept connections/;
// Replaying a large append-only file can take a few seconds.
const READY_TIMEOUT_MS = 20_000;

export interface RedisOptions {
  /** Keep data in an append-only file under this folder; omitted → memory only. */
  dataDir?: string;
  /** 0 or omitted → a free port. */
  port?: number;
  /** Run detached, outliving this process, with its output in this file (see startManagedProcess). */
  logFile?: string;
  log?: (line: string) => void;
}

export interface RedisServer {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * A private Redis server from the machine's `redis-server`, run as our child process: attached, so it dies with us, or
 * detached with `logFile`.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = findInPath('redis-server');
  if (!binary) throw new Error(MISSING);
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const persistence = options.dataDir
    ? ['--dir', options.dataDir, '--appendonly', 'yes']
    : ['--appendonly', 'no'];
  const port = options.port || (await freePort());
  const server = await startManagedProcess({
    name: 'redis',
    command: binary,
    // No RDB snapshots: the append-only file (when persistent) is the one copy of the data.
    args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', ...persistence],
    ready: (line) => (READY.test(line) ? true : undefined),
    readyTimeoutMs: READY_TIMEOUT_MS,
    logFile: options.logFile,
    log: options.log,
  });
  return { url: `redis://127.0.0.1:${port}`, pid: server.pid, stop: server.stop };
}

/** Whether a Redis server at `url` answers PING within `timeoutMs`. */
export async function isRedisReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // Connection failures are reported through connect(); without a listener they would also be thrown as events.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
