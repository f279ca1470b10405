import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../../../local-dev/services/repo-root';
import { dropDatabase, ensureDatabase } from '../../../local-dev/services/postgres';
import { stopPid } from '../../../local-dev/services/managed-process';
import { readStackRecord } from '../../../local-dev/stack-record';
import { until } from '../../support/until';
import { makeTempDir, nodeOnlyPath } from './helpers';
import { TEST_POSTGRES_URL, TEST_REDIS_URL } from '../../support/test-servers';

const START_SCRIPT = join(__dirname, '../../../local-dev/start.js');
const READY = /^ {2}Web UI {6}(http:\/\/localhost:\d+)\/$/m;

/** `npm start`'s script, run as a real process: what it prints, and its URL once it serves. */
export interface StartRun {
  child: ChildProcess;
  /** What a Ctrl+C in its terminal does: SIGINT to its whole process group. */
  interrupt(): void;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the URL once it prints that Longhaul runs; rejects if it exits first. */
  ready(timeoutMs?: number): Promise<string>;
}

/** A state folder, a fresh database and a short-lock emulator config for runs of the start script. */
export interface StartSandbox {
  env: Record<string, string>;
  stateDir: string;
  databaseUrl: string;
  run(extraEnv?: Record<string, string>): StartRun;
  /** Kills runs and services a failed test left, then drops the database and the folder. */
  remove(): Promise<void>;
}

/**
 * `lockSeconds`: the tasks queue's message lock, which decides how soon a message held by a killed host is delivered
 * again.
 */
export async function startSandbox(prefix: string, lockSeconds: number): Promise<StartSandbox> {
  const temp = makeTempDir(prefix);
  const database = `longhaul_${prefix.replace(/\W/g, '_')}_${process.pid}_${Date.now()}`;
  await ensureDatabase(TEST_POSTGRES_URL, database);
  const databaseUrl = TEST_POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`);
  const config = JSON.parse(
    readFileSync(join(findRepoRoot(), 'local-dev/servicebus-config.json'), 'utf8'),
  ) as { UserConfig: { Namespaces: Array<{ Queues: Array<{ Properties: { LockDuration: string } }> }> } };
  for (const queue of config.UserConfig.Namespaces[0].Queues)
    queue.Properties.LockDuration = `PT${lockSeconds}S`;
  const configPath = join(temp.path, 'servicebus-config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const stateDir = join(temp.path, 'local');
  const env = {
    LONGHAUL_LOCAL_DIR: stateDir,
    LONGHAUL_FREE_PORTS: '1',
    LONGHAUL_SERVICEBUS_CONFIG: configPath,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    LOG_LEVEL: 'warn',
    // Every test is the caller `local` on the machine's one Redis: limits would trip on what ran before.
    RATE_LIMIT_SUBMITS_PER_MINUTE: '0',
    RATE_LIMIT_READS_PER_MINUTE: '0',
    MAX_ACTIVE_TASKS_PER_CALLER: '0',
  };
  const runs = startRuns(stateDir, env, true);
  return {
    env,
    stateDir,
    databaseUrl,
    run: runs.run,
    remove: async () => {
      await runs.kill();
      await dropDatabase(TEST_POSTGRES_URL, database);
      temp.remove();
    },
  };
}

/** Runs of the start script on one state folder, and what kills those left running and the services they started. */
function startRuns(stateDir: string, env: Record<string, string>, inherit: boolean) {
  const runs: StartRun[] = [];
  return {
    run: (extraEnv: Record<string, string> = {}) => {
      const run = runStart({ ...env, ...extraEnv }, inherit);
      runs.push(run);
      return run;
    },
    kill: async () => {
      for (const { child } of runs)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const service of readStackRecord(stateDir)) await stopPid(service.pid, 'SIGKILL');
    },
  };
}

/** `npm start` on a machine with only Node: its state folder, its runs, and the clean-up. */
export interface NodeOnlyMachine {
  stateDir: string;
  start(): StartRun;
  /** SIGKILL of the runs still going and of every service they started, as a crash of the whole machine's stack. */
  kill(): Promise<void>;
  /** Kills runs and services left behind, then removes the folder. */
  remove(): Promise<void>;
}

/**
 * Runs of the start script as on a machine with Node and nothing else: PATH holds only `node`, no DATABASE_URL or
 * REDIS_URL, free ports instead of the usual ones; everything else it needs comes from `npm install`.
 */
export function nodeOnlyMachine(prefix: string): NodeOnlyMachine {
  const temp = makeTempDir(prefix);
  const stateDir = join(temp.path, 'local');
  const env = {
    PATH: nodeOnlyPath(temp.path),
    HOME: temp.path,
    LONGHAUL_LOCAL_DIR: stateDir,
    LONGHAUL_FREE_PORTS: '1',
    LOG_LEVEL: 'warn',
  };
  const runs = startRuns(stateDir, env, false);
  return {
    stateDir,
    start: () => runs.run(),
    kill: runs.kill,
    remove: async () => {
      await runs.kill();
      temp.remove();
    },
  };
}

/** Runs the start script with this process's environment and `env` over it, or (`inherit` false) `env` alone. */
export function runStart(env: Record<string, string>, inherit = true): StartRun {
  const { PORT: _port, ...inherited } = process.env;
  // A process group of its own, as a terminal gives a command: a Ctrl+C there signals the whole group.
  const child = spawn(process.execPath, [START_SCRIPT], {
    env: inherit ? { ...inherited, ...env } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    interrupt: () => process.kill(-(child.pid as number), 'SIGINT'),
    output: () => output,
    exited,
    ready: async (timeoutMs = 20_000) => {
      await until(() => gone || READY.test(output), timeoutMs);
      const url = READY.exec(output)?.[1];
      if (!url) throw new Error(`the start script is not serving:\n${output}`);
      return url;
    },
  };
}

export interface TaskView {
  status: string;
  progress: { current: number } | null;
}

export async function submitSimulate(url: string, input: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'simulate', input }),
  });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function getTask(url: string, id: string): Promise<TaskView> {
  const res = await fetch(`${url}/api/tasks/${id}`);
  if (res.status !== 200) throw new Error(`get ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as TaskView;
}

/** Polls the task every 50 ms until `done` holds; throws with its last state after `timeoutMs`. */
export async function waitForTask(
  url: string,
  id: string,
  done: (task: TaskView) => boolean,
  timeoutMs: number,
): Promise<TaskView> {
  for (const end = Date.now() + timeoutMs; ;) {
    const task = await getTask(url, id);
    if (done(task)) return task;
    if (Date.now() > end) throw new Error(`task ${id}: ${JSON.stringify(task)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function simulateExecutions(url: string, id: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/api/tasks/${id}/result`);
  if (res.status !== 200) throw new Error(`result ${id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { executions: Record<string, number> }).executions;
}

export const hasEnded = (task: TaskView): boolean =>
  ['succeeded', 'failed', 'cancelled'].includes(task.status);

/**
 * docs/reliability.md: a checkpointed step never runs again; the step in flight at a kill may. So each of the first
 * `checkpointed` steps ran exactly once, any later one once or twice, and at most one step twice.
 */
export function assertNoCheckpointedStepReran(
  executions: Record<string, number>,
  steps: number,
  checkpointed: number,
  label: string,
): void {
  for (let i = 0; i < steps; i++) {
    const runs = executions[`step-${i}`];
    if (i < checkpointed) assert.equal(runs, 1, `${label}: checkpointed step-${i} ran ${runs} times`);
    else assert.ok(runs === 1 || runs === 2, `${label}: step-${i} ran ${runs} times`);
  }
  assert.ok(
    Object.values(executions).filter((r) => r === 2).length <= 1,
    `${label}: ${JSON.stringify(executions)}`,
  );
}
