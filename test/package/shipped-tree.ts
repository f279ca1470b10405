import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, sep } from 'node:path';
import { runProcess } from '../support/run-process';

function git(root: string, args: string[]): string[] {
  const run = spawnSync('git', ['-C', root, ...args, '-z'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout.split('\0').filter(Boolean);
}

/** What azd itself leaves out of a Functions package whatever .funcignore says (azure-dev, createDeployableZip). */
function azdExcludes(path: string): boolean {
  const parts = path.split('/');
  const name = parts[parts.length - 1];
  return name === '.funcignore' || name === 'local.settings.json' || parts.slice(0, -1).includes('.azure');
}

/**
 * The files `azd deploy` packages from a clean checkout of `root` plus its new files (tracked files, and untracked ones
 * .gitignore does not exclude, as they are on disk now), minus what .funcignore excludes. Git reads .funcignore
 * itself, so the gitignore semantics are git's.
 */
export function shippedFiles(root: string): string[] {
  const tracked = git(root, ['ls-files', '--cached']);
  const ignoredTracked = new Set(
    git(root, ['ls-files', '--cached', '--ignored', '--exclude-from=.funcignore']),
  );
  const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '--exclude-from=.funcignore']);
  return [...tracked.filter((f) => !ignoredTracked.has(f)), ...untracked]
    .filter((f) => !azdExcludes(f) && existsSync(join(root, f)))
    .sort();
}

export function copyShippedTree(root: string, destination: string): void {
  for (const file of shippedFiles(root)) {
    mkdirSync(join(destination, dirname(file)), { recursive: true });
    copyFileSync(join(root, file), join(destination, file));
  }
}

/**
 * Where to build a copy: a RAM disk when one has room (npm writes some 550 MB of node_modules, twice as fast there),
 * else the temp folder.
 */
export function scratchFolder(): string {
  const shm = '/dev/shm';
  try {
    const { bavail, bsize } = statfsSync(shm);
    if (bavail * bsize > 2 * 1024 ** 3) return shm;
  } catch {
    // no /dev/shm on this system
  }
  return tmpdir();
}

/**
 * The environment of a build on a machine of its own: without the npm_* settings and node_modules/.bin entries that
 * `npm test` passes down (a tool missing from the copy must not be found in the repo's), and without NODE_ENV.
 */
function buildEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'NODE_ENV'),
  );
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => basename(dir) !== '.bin' || !dir.includes(`node_modules${sep}`))
    .join(delimiter);
  return env;
}

export interface StepResult {
  command: string;
  code: number | null;
  output: string;
  seconds: number;
}

async function run(cwd: string, args: string[]): Promise<StepResult> {
  const started = Date.now();
  const { code, stdout, stderr } = await runProcess('npm', args, { cwd, env: buildEnv() });
  return {
    command: `npm ${args.join(' ')}`,
    code,
    output: stdout + stderr,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The Node.js steps of Oryx, the build service behind the remote build (microsoft/Oryx,
 * NodeBashBuildSnippet.sh.tpl and NodePlatform.cs): `npm install`, then `npm run build` and `npm run build:azure`
 * when package.json has them, stopping at the first failure (the script runs under `set -e`). `--no-audit --no-fund`
 * only skip reports; `--prefer-offline` takes packages from the local cache.
 */
export async function remoteBuild(dir: string): Promise<StepResult[]> {
  const { scripts = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const steps = [
    ['install', '--no-audit', '--no-fund', '--prefer-offline'],
    ...['build', 'build:azure'].filter((name) => name in scripts).map((name) => ['run', name]),
  ];
  const results: StepResult[] = [];
  for (const args of steps) {
    const result = await run(dir, args);
    results.push(result);
    if (result.code !== 0) break;
  }
  return results;
}
