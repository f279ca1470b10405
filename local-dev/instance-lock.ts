import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { commandLineOf, isAlive } from './services/managed-process';

const LOCK_FILE = 'instance.lock';
const START_SCRIPT = `${sep}local-dev${sep}start.js`;

interface LockContent {
  pid: number;
  url: string;
}

/** Another `npm start` holds the state folder; its message says how to stop it. */
export class AlreadyRunningError extends Error {
  constructor(holder: LockContent) {
    super(
      `Longhaul is already running (pid ${holder.pid}, ${holder.url}); ` +
        `stop it with Ctrl+C in its terminal or kill -TERM ${holder.pid}`,
    );
    this.name = 'AlreadyRunningError';
  }
}

export interface InstanceLock {
  /** Removes the lock file (only if it is still ours); idempotent. */
  release(): void;
}

function readLock(path: string): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live `npm start` (our start script under node), not some process that reuses a dead one's pid. */
function isStartProcess(pid: number): boolean {
  return isAlive(pid) && (commandLineOf(pid) ?? []).some((arg) => arg.endsWith(START_SCRIPT));
}

/**
 * Takes `<stateDir>/instance.lock` for this process (serving at `url`), or throws AlreadyRunningError, touching
 * nothing, when a live start holds it. A lock left by a start that died is taken over.
 */
export function acquireInstanceLock(stateDir: string, url: string): InstanceLock {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, LOCK_FILE);
  const content: LockContent = { pid: process.pid, url };
  // Written whole under another name, then linked: link() fails if the lock exists, so two starts cannot both win,
  // and a reader never sees an empty lock.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(content));
  try {
    for (;;) {
      try {
        linkSync(temporary, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readLock(path);
      if (holder && isStartProcess(holder.pid)) throw new AlreadyRunningError(holder);
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(temporary, { force: true });
  }
  return {
    release: () => {
      if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
