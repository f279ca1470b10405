import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier } from 'pg';
import { findInPath } from './executables';
import { startManagedProcess } from './managed-process';
import { freePort } from './ports';

const MISSING =
  'PostgreSQL not found (initdb and postgres in PATH or /usr/lib/postgresql/*/bin): ' +
  'install it with `apt-get install postgresql`, or set DATABASE_URL to a running server';
const DEBIAN_VERSIONS = '/usr/lib/postgresql';
const READY = /database system is ready to accept connections/;
// PostgreSQL's fast shutdown: clients are disconnected, data is flushed.
export const POSTGRES_STOP_SIGNAL: NodeJS.Signals = 'SIGINT';
// Crash recovery of a cluster that was not shut down cleanly can take a while.
const READY_TIMEOUT_MS = 30_000;

export interface PostgresOptions {
  /** Holds the cluster (created on first use) and the server's socket; a later start on it resumes the data. */
  dataDir: string;
  /** 0 or omitted → a free port. */
  port?: number;
  /** Run detached, outliving this process, with its output in this file (see startManagedProcess). */
  logFile?: string;
  log?: (line: string) => void;
}

export interface Postgres {
  pid: number;
  /** Superuser `postgres` (trust auth) on the `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

interface Account {
  uid: number;
  gid: number;
}

function majorMinor(binDir: string): number[] {
  const out = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /(\d+)(?:\.(\d+))?/.exec(out);
  return [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
}

/** The bin folder of the highest PostgreSQL version among PATH and Debian's versioned folders. */
function findBinDir(): string {
  const inPath = findInPath('postgres');
  const fromPath = inPath ? [dirname(inPath)] : [];
  const debian = existsSync(DEBIAN_VERSIONS)
    ? readdirSync(DEBIAN_VERSIONS).map((version) => join(DEBIAN_VERSIONS, version, 'bin'))
    : [];
  const candidates = [...fromPath, ...debian].filter(
    (dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')),
  );
  const byVersion = [...new Map(candidates.map((dir) => [realpathSync(join(dir, 'postgres')), dir])).values()]
    .map((dir) => ({ dir, version: majorMinor(dir) }))
    .sort((a, b) => b.version[0] - a.version[0] || b.version[1] - a.version[1]);
  if (!byVersion.length) throw new Error(MISSING);
  return byVersion[0].dir;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user (and let it own the files). */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` user to run it as');
  }
}

async function initCluster(
  binDir: string,
  clusterDir: string,
  cwd: string,
  account?: Account,
): Promise<void> {
  const args = ['-D', clusterDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'];
  try {
    await promisify(execFile)(join(binDir, 'initdb'), args, { cwd, uid: account?.uid, gid: account?.gid });
  } catch (err) {
    // A half-made cluster would make the next initdb refuse the non-empty folder.
    rmSync(clusterDir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').join(' | ');
    throw new Error(`initdb ${clusterDir} failed: ${stderr || (err as Error).message}`);
  }
}

/**
 * A private PostgreSQL server from the machine's binaries, run as our child process: attached, so it dies with us, or
 * detached with `logFile`.
 */
export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  const binDir = findBinDir();
  const account = serverAccount();
  const clusterDir = join(options.dataDir, 'cluster');
  const socketDir = join(options.dataDir, 'socket');
  for (const dir of [options.dataDir, socketDir]) {
    mkdirSync(dir, { recursive: true });
    if (account) chownSync(dir, account.uid, account.gid);
  }
  if (!existsSync(join(clusterDir, 'PG_VERSION')))
    await initCluster(binDir, clusterDir, options.dataDir, account);
  const port = options.port || (await freePort());
  const server = await startManagedProcess({
    name: 'postgres',
    command: join(binDir, 'postgres'),
    // lc_messages=C keeps the readiness line in English whatever the machine's locale.
    args: [
      ...['-D', clusterDir, '-k', socketDir, '-p', String(port)],
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'lc_messages=C'],
    ],
    ready: (line) => (READY.test(line) ? true : undefined),
    readyTimeoutMs: READY_TIMEOUT_MS,
    stopSignal: POSTGRES_STOP_SIGNAL,
    cwd: options.dataDir,
    uid: account?.uid,
    gid: account?.gid,
    logFile: options.logFile,
    log: options.log,
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pid: server.pid, stop: server.stop };
}

async function withClient<T>(
  url: string,
  work: (client: Client) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // A server that goes away would otherwise raise an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether a server answers a query at `url` within `timeoutMs`. */
export async function isPostgresReachable(url: string, timeoutMs = 2_000): Promise<boolean> {
  return withClient(url, (client) => client.query('SELECT 1'), timeoutMs).then(
    () => true,
    () => false,
  );
}

/** Creates database `name` on the server at `serverUrl` unless it exists. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(serverUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // duplicate_database: someone created it meanwhile
    });
  });
}

/** Drops database `name` on the server at `serverUrl` (if it exists), disconnecting its sessions. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(serverUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`),
  );
}
