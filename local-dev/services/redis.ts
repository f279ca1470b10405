import { mkdirSync } from 'node:fs';
import Redis from 'ioredis';
import { findInPath } from './executables';
import { installHint } from './install-hints';
import { startManagedProcess } from './managed-process';
import { freePort } from './ports';

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
 * The machine's Redis server: `redis-server`, or `valkey-server` (Valkey, the fork some distributions ship instead,
 * e.g. Fedora from 41, answers the same protocol and prints the same readiness line).
 */
export function findRedisServer(): string | undefined {
  return findInPath('redis-server') ?? findInPath('valkey-server');
}

/** "Redis not found (…): <how to install it on this platform>, or set <setting>…". */
export const redisMissing = (setting?: string) =>
  `Redis not found (no redis-server or valkey-server in PATH): ${installHint('redis', setting)}`;

/**
 * A private Redis server from the machine's binary (findRedisServer), run as our child process: attached, so it dies
 * with us, or detached with `logFile`.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (!binary) throw new Error(redisMissing());
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
