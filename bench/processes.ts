import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Children still running: killed if the benchmark exits early (a time-out, an error), so none outlives it. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export interface StartedChild {
  child: ChildProcess;
  /** The first line the child printed: a URL, or whatever it prints once ready. */
  line: string;
}

/** Starts a Node child that prints one line once it is ready; `execArgv` goes before the script (e.g. --cpu-prof). */
export async function startChild(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
  execArgv: string[] = [],
): Promise<StartedChild> {
  const child = track(
    spawn(process.execPath, [...execArgv, script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${script} exited with ${String(code)} before it was ready`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).once('line', (first) => {
      child.off('exit', onExit);
      resolve(first);
    });
  });
  return { child, line };
}

/** A local host process (`--role worker` or `http`) on the given app settings; `line` is its URL. */
export function startHostProcess(
  role: 'worker' | 'http',
  settings: Record<string, string>,
  execArgv: string[] = [],
): Promise<StartedChild> {
  return startChild(
    join(__dirname, '..', 'local-dev', 'host-process.js'),
    ['--role', role],
    settings,
    execArgv,
  );
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux; clock ticks of 10 ms, the kernel's
 * USER_HZ of 100 on every Linux the benchmarks run on).
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** SIGTERM to every child still running, and waits for each to exit (a profiled child writes its profile then). */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
}

/**
 * Runs a Node child to its end and parses what it printed as JSON; one that runs past `timeoutMs` is killed, so a
 * stalled session fails the benchmark instead of hanging it.
 */
export async function runJsonChild<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  const child = track(spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited with ${String(code ?? signal)}`);
  return JSON.parse(out) as T;
}
