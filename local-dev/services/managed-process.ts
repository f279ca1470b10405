import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

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

// Children still running, with their stop signal; asked to stop when this process exits, so none outlives it.
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

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Spawns a long-running service in this process's group (not detached), waits until a line of its output says it
 * is ready, and keeps draining its output afterwards (a full pipe would block it). Rejects, with the last output
 * lines, when it cannot start, exits first or is not ready in time.
 */
export async function startManagedProcess<T>(options: ManagedProcessOptions<T>): Promise<ManagedProcess<T>> {
  const { name, log } = options;
  const stopSignal = options.stopSignal ?? 'SIGTERM';
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child, stopSignal);

  const tail: string[] = [];
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
      clearTimeout(timer);
      outcome();
    };
    const onLine = (line: string) => {
      log?.(`[${name}] ${line}`);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (settled) return;
      const readyValue = options.ready(line);
      if (readyValue !== undefined) settle(() => resolve(readyValue));
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', onLine);
    }
    child.once('error', (err) =>
      settle(() => reject(new Error(`${name}: cannot run ${options.command}: ${err.message}`))),
    );
    // 'close' rather than 'exit': by then every output line has been read, so the error shows the cause.
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
