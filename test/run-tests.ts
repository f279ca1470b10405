import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPostgresReachable, startPostgres } from '../local-dev/services/postgres';
import { findRedisServer, isRedisReachable, redisMissing, startRedis } from '../local-dev/services/redis';
import { TEST_POSTGRES_URL, TEST_REDIS_URL } from './support/test-servers';

/**
 * `npm test`: every compiled test file (`*.test.js`) under dist/test, in path order, or the files given as arguments.
 * Node's own discovery of a folder would also run each helper module under it as a test file (its patterns take any
 * file in a `test` folder): a process apiece that tests nothing.
 */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith('.test.js') ? [path] : [];
    })
    .sort();
}

const CONCURRENCY = 2;
const say = (line: string) => console.log(`npm test: ${line}`);
const hostOf = (url: string) => new URL(url).host;

interface Servers {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The Postgres server and Redis the tests use: those at TEST_POSTGRES_URL / TEST_REDIS_URL (default: the machine's
 * default ports) when they answer; otherwise private ones for this run, the embedded PostgreSQL from npm and the
 * machine's redis-server. No Redis at all stops the run before it starts (ends the process).
 */
async function testServers(): Promise<Servers> {
  const env: Record<string, string> = {};
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  const [postgresUp, redisUp] = await Promise.all([
    isPostgresReachable(TEST_POSTGRES_URL),
    isRedisReachable(TEST_REDIS_URL),
  ]);
  if (!redisUp && !findRedisServer()) {
    console.error(
      `npm test: nothing answers at ${hostOf(TEST_REDIS_URL)} (TEST_REDIS_URL). ${redisMissing('TEST_REDIS_URL')}.`,
    );
    process.exit(1);
  }
  if (!postgresUp) {
    const dataDir = mkdtempSync(join(tmpdir(), 'longhaul-test-postgres-'));
    say(`nothing answers at ${hostOf(TEST_POSTGRES_URL)} (TEST_POSTGRES_URL): starting a private PostgreSQL`);
    // Its own lines (which binaries, where), not the server's output (`[postgres] …`).
    const server = await startPostgres({ dataDir, log: (line) => !line.startsWith('[') && say(line) });
    stops.push(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    env.TEST_POSTGRES_URL = server.url;
  }
  if (!redisUp) {
    say(`nothing answers at ${hostOf(TEST_REDIS_URL)} (TEST_REDIS_URL): starting a private Redis`);
    const server = await startRedis().catch(async (err: unknown) => {
      await stop();
      throw err;
    });
    stops.push(server.stop);
    env.TEST_REDIS_URL = server.url;
  }
  return { env, stop };
}

async function main(): Promise<number> {
  const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles(__dirname);
  const servers = await testServers();
  try {
    // Not spawnSync: the private servers' output pipes must keep draining while the tests run.
    // Two files at a time: most of a test's time is spent waiting (on services, timers, a browser), and every file
    // has its own database, Redis namespace, ports and folders. One at a time took 11+ minutes of the 12 `npm test` has.
    // --test-force-exit: a file whose `before` failed with a stack still open (no Chromium, say) ends, failed,
    // instead of hanging the run.
    const args = ['--test', `--test-concurrency=${CONCURRENCY}`, '--test-force-exit', ...files];
    const run = spawn(process.execPath, args, {
      stdio: 'inherit',
      env: { ...process.env, ...servers.env },
    });
    const [code] = (await once(run, 'exit')) as [number | null];
    return code ?? 1;
  } finally {
    await servers.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`npm test: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
