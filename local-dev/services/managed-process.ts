import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

export interface ManagedProcessOptions<T> {
  /** Names the process in log lines and errors. */
  name: string;
  command: string;
  args: readonly string[];
  /** Sees every stdout/stderr line until it returns a value: the process is then ready, with that value. */
  ready: (line: string) => T | undefined;
  readyTimeoutMs: number;
  /** The signal that asks the process for a clean shutdown (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /**
   * Run detached in a session of its own, writing its output to this file (appended): a Ctrl+C in the terminal does
   * not reach it, and it outlives this process. Omitted → in this process's group, asked to stop when it exits.
   */
  logFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user/group (the process must be root to switch). */
  uid?: number;
  gid?: number;
  log?: (line: string) => void;
}

export interface ManagedProcess<T> {
  readonly pid: number;
  /** What `ready` returned. */
  readonly value: T;
  /** Sends the stop signal and waits for the exit (SIGKILL after a grace period); idempotent. */
  stop(): Promise<void>;
}

const TAIL_LINES = 8;
const STOP_GRACE_MS = 10_000;
const FOLLOW_MS = 50;

// Attached children still running, with their stop signal; asked to stop when this process exits, so none outlives it.
const running = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

function track(child: ChildProcess, stopSignal: NodeJS.Signals): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous: send the clean-shutdown signal, which each service then completes
    // on its own (Postgres and Redis flush their data) instead of dying mid-write from a SIGKILL.
    process.on('exit', () => {
      for (const [proc, signal] of running) proc.kill(signal);
    });
  }
  running.set(child, stopSignal);
  child.once('exit', () => running.delete(child));
}

/**
 * The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ...; undefined when there is no such
 * process.
 */
function statOf(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process's state letter from /proc (R, S, D, Z, ...), or undefined when there is no such process. */
function stateOf(pid: number): string | undefined {
  return statOf(pid)?.[0];
}

/**
 * Whether a process with this pid runs. A zombie does not: a service left by a start process that died belongs to
 * whatever adopted it, which may never reap it (a container's PID 1).
 */
export function isAlive(pid: number): boolean {
  const state = stateOf(pid);
  return state !== undefined && state !== 'Z';
}

/** The process's arguments as /proc shows them now (a service may have rewritten its title), or undefined. */
export function commandLineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // Without the trailing NULs: Redis pads its rewritten title with them.
    return raw.replace(/\0+$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Stops a process that may not be our child (one a previous `npm start` left running): the stop signal, then SIGKILL
 * after the grace period; resolves once it is gone.
 */
export async function stopPid(
  pid: number,
  stopSignal: NodeJS.Signals,
  graceMs = STOP_GRACE_MS,
): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal(stopSignal);
  const killAt = Date.now() + graceMs;
  let killed = false;
  while (isAlive(pid)) {
    if (!killed && Date.now() >= killAt) {
      killed = true;
      signal('SIGKILL');
    }
    await delay(20);
  }
}

/** The live (not zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      const [state, , pgrp] = statOf(entry) ?? []; // none: it exited while we looked
      return Number(pgrp) === pgid && state !== undefined && state !== 'Z';
    })
    .map(Number);
}

/**
 * Kills what is left of a detached service whose leader is gone: the rest of its process group. A PostgreSQL server's
 * processes outlive a SIGKILLed postmaster for a while and keep its shared memory, and a new postmaster refuses the
 * data folder meanwhile ("lock file postmaster.pid already exists"). Only for a dead leader: the kernel does not hand
 * out a pid while a process group of that id lives, so the id names the service's leftovers and nothing else.
 * Resolves once none is left.
 */
export async function killLeftoverGroup(leaderPid: number): Promise<void> {
  if (isAlive(leaderPid)) return;
  for (let left = groupMembers(leaderPid); left.length > 0; left = groupMembers(leaderPid)) {
    try {
      process.kill(-leaderPid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await delay(20);
  }
}

/** Feeds `onLine` each line written to the file open as `fd` after `position`, every FOLLOW_MS; stop() reads the rest. */
function followFile(fd: number, position: number, onLine: (line: string) => void): { stop(): void } {
  let partial = '';
  const buffer = Buffer.alloc(64 * 1024);
  const poll = () => {
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, position)) > 0;) {
      position += n;
      const lines = (partial + buffer.toString('utf8', 0, n)).split('\n');
      partial = lines.pop() as string;
      lines.forEach(onLine);
    }
  };
  const timer = setInterval(poll, FOLLOW_MS).unref();
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      poll();
      closeSync(fd);
    },
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Spawns the process; its output lines go to `onLine`. The returned function stops following a log file. */
function spawnWithOutput<T>(
  options: ManagedProcessOptions<T>,
  onLine: (line: string) => void,
): { child: ChildProcess; unfollow(): void } {
  const spawnOptions = { cwd: options.cwd, env: options.env, uid: options.uid, gid: options.gid };
  if (!options.logFile) {
    const child = spawn(options.command, options.args, {
      ...spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', onLine);
    }
    return { child, unfollow: () => undefined };
  }
  mkdirSync(dirname(options.logFile), { recursive: true });
  // A file, not a pipe: a pipe would break when this process dies, and the service with it (EPIPE).
  const out = openSync(options.logFile, 'a');
  const reader = openSync(options.logFile, 'r');
  const follower = followFile(reader, fstatSync(out).size, onLine);
  try {
    const child = spawn(options.command, options.args, {
      ...spawnOptions,
      stdio: ['ignore', out, out],
      detached: true,
    });
    // Nothing here waits for it: it is meant to outlive this process.
    child.unref();
    return { child, unfollow: follower.stop };
  } finally {
    closeSync(out);
  }
}

/**
 * Spawns a long-running service, waits until a line of its output says it is ready, and keeps passing its output to
 * `log` afterwards. Attached (the default), it runs in this process's group and its pipes are drained; with
 * `logFile`, it runs detached (see there). Rejects, with the last output lines, when it cannot start, exits first
 * or is not ready in time.
 */
export async function startManagedProcess<T>(options: ManagedProcessOptions<T>): Promise<ManagedProcess<T>> {
  const { name, log } = options;
  const stopSignal = options.stopSignal ?? 'SIGTERM';
  const tail: string[] = [];
  let onReadyLine: (line: string) => void = () => undefined;
  const onLine = (line: string) => {
    log?.(`[${name}] ${line}`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    onReadyLine(line);
  };
  const { child, unfollow } = spawnWithOutput(options, onLine);
  if (!options.logFile) track(child, stopSignal);
  child.once('exit', () => unfollow());

  const failure = (what: string) =>
    new Error(`${name} ${what}${tail.length ? `: ${tail.join(' | ')}` : ' (no output)'}`);

  const value = await new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL'); // rejected below, once it is gone
    }, options.readyTimeoutMs);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      onReadyLine = () => undefined;
      clearTimeout(timer);
      outcome();
    };
    onReadyLine = (line) => {
      const readyValue = options.ready(line);
      if (readyValue !== undefined) settle(() => resolve(readyValue));
    };
    child.once('error', (err) =>
      settle(() => reject(new Error(`${name}: cannot run ${options.command}: ${err.message}`))),
    );
    // 'close' rather than 'exit': by then every output line has been read (a log file's at 'exit', above), so the
    // error shows the cause.
    child.once('close', (code, signal) => {
      const what = timedOut
        ? `was not ready within ${options.readyTimeoutMs / 1000} s`
        : `exited (${signal ?? `code ${code}`}) before it was ready`;
      settle(() => reject(failure(what)));
    });
  });

  let stopping: Promise<void> | undefined;
  // A service that dies while in use would otherwise go unnoticed until requests fail.
  child.once('exit', (code, signal) => {
    if (!stopping) log?.(`[${name}] exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  const stop = () => {
    stopping ??= (async () => {
      if (hasExited(child)) return;
      const exited = once(child, 'exit');
      child.kill(stopSignal);
      const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(escalate);
    })();
    return stopping;
  };
  return { pid: child.pid as number, value, stop };
}
