import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier } from 'pg';
import { AZURE_POSTGRES_MAJOR, chooseBinaries, executable, type PostgresBinaries } from './postgres-binaries';
import { isAlive, killLeftoverGroup, startManagedProcess } from './managed-process';
import { freePort } from './ports';

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

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` user (and let it own the files). The
 * account is read from /etc/passwd rather than asked of `id`: the PATH may hold nothing but Node.
 */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => f[0] === 'postgres');
  if (!fields)
    throw new Error(
      'PostgreSQL refuses to run as root and there is no `postgres` user to run it as: ' +
        'create one (`useradd --system postgres`) or start as another user',
    );
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function initCluster(
  binaries: PostgresBinaries,
  clusterDir: string,
  cwd: string,
  account?: Account,
): Promise<void> {
  const args = ['-D', clusterDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'];
  try {
    await promisify(execFile)(executable(binaries.binDir, 'initdb'), args, {
      cwd,
      uid: account?.uid,
      gid: account?.gid,
    });
  } catch (err) {
    // A half-made cluster would make the next initdb refuse the non-empty folder.
    rmSync(clusterDir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').join(' | ');
    throw new Error(`initdb ${clusterDir} failed: ${stderr || (err as Error).message}`);
  }
}

/**
 * The lock file of a server that was killed. PostgreSQL takes it for a running server while its pid exists, and a
 * killed postmaster's pid lingers as a zombie where nothing reaps it (a container's init); its backends outlive it for
 * a while too, holding its shared memory. So when that pid runs nothing, what is left of its process group is killed
 * and the file removed: no server uses the folder then.
 */
async function clearStaleLock(clusterDir: string): Promise<void> {
  const file = join(clusterDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return; // none: the server was stopped cleanly, or never ran
  }
  if (!pid || isAlive(pid)) return;
  await killLeftoverGroup(pid);
  rmSync(file, { force: true });
}

/** "PostgreSQL 17.10 (embedded, from npm)", with Azure's version when it differs. */
function describeBinaries(binaries: PostgresBinaries): string {
  const where = binaries.embedded ? 'embedded, from npm' : binaries.binDir;
  const azure = binaries.major === AZURE_POSTGRES_MAJOR ? '' : `; Azure runs ${AZURE_POSTGRES_MAJOR}`;
  return `PostgreSQL ${binaries.major}.${binaries.minor} (${where})${azure}`;
}

/**
 * A private PostgreSQL server (see chooseBinaries for which), run as our child process: attached, so it dies with us,
 * or detached with `logFile`.
 */
export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  const clusterDir = join(options.dataDir, 'cluster');
  const versionFile = join(clusterDir, 'PG_VERSION');
  const existing = existsSync(versionFile);
  const binaries = chooseBinaries(
    existing ? { dir: clusterDir, major: Number(readFileSync(versionFile, 'utf8').trim()) } : undefined,
  );
  options.log?.(
    `${existing ? 'starting' : 'creating a cluster with'} ${describeBinaries(binaries)} in ${clusterDir}`,
  );
  const account = serverAccount();
  const socketDir = join(options.dataDir, 'socket');
  for (const dir of [options.dataDir, socketDir]) {
    mkdirSync(dir, { recursive: true });
    if (account) chownSync(dir, account.uid, account.gid);
  }
  if (!existing) await initCluster(binaries, clusterDir, options.dataDir, account);
  else await clearStaleLock(clusterDir);
  const port = options.port || (await freePort());
  const server = await startManagedProcess({
    name: 'postgres',
    command: executable(binaries.binDir, 'postgres'),
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
