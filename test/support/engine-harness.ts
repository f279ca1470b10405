import assert from 'node:assert/strict';
import { startAppHost } from './app-host';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { submitTask } from '../../functions/app/http/handlers/submit-task';
import { triggers } from '../../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../../local-dev/host';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import { startAppStack, type AppStack } from './app-stack';
import { call } from './http';

export interface TaskState {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  progress: { current: number } | null;
}

/** Submits a `simulate` task through the real handler. */
export async function submitSimulate(input: Record<string, unknown>): Promise<string> {
  const res = await call(submitTask, {
    method: 'POST',
    path: '/api/tasks',
    body: { type: 'simulate', input },
  });
  if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${res.text}`);
  return (res.body as { id: string }).id;
}

export async function taskState(stack: AppStack, id: string): Promise<TaskState> {
  const { rows } = await stack.pool.query(
    'SELECT id, status, attempts, error, progress FROM tasks WHERE id = $1',
    [id],
  );
  return rows[0] as TaskState;
}

export async function waitForTask(
  stack: AppStack,
  id: string,
  done: (t: TaskState) => boolean,
  timeoutMs = 20_000,
): Promise<TaskState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await taskState(stack, id);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} is still ${task.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const isFinished = (t: TaskState) => ['succeeded', 'failed', 'cancelled'].includes(t.status);

/** How often each step body ran, from the ledger the checkpoints do not touch. */
export async function stepRuns(stack: AppStack, id: string): Promise<Record<string, number>> {
  const { rows } = await stack.pool.query<{ step: string; runs: number }>(
    'SELECT step, runs FROM step_runs WHERE task_id = $1',
    [id],
  );
  return Object.fromEntries(rows.map((r) => [r.step, r.runs]));
}

/** The app's Service Bus trigger (and nothing else) on the local host: a worker. */
export async function startWorker(stack: AppStack): Promise<LocalHost> {
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
  return startLocalHost({
    triggers: triggers.filter((t) => t.kind === 'serviceBus'),
    port: 0,
    settings: stack.settings,
    hostJson,
    log: () => undefined,
  });
}

/** The Timer a timer trigger gets, for calling the sweeper by hand. */
export const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

export const invocation = (id = `test-${Math.random().toString(36).slice(2)}`) =>
  new InvocationContext({
    invocationId: id,
    functionName: 'processTaskMessage',
    logHandler: () => undefined,
  });

/** Dead-lettered messages of the tasks queue. */
export async function deadLetters(stack: AppStack): Promise<Array<{ body: unknown; reason?: string }>> {
  const client = new ServiceBusClient(stack.settings.ServiceBusConnection);
  try {
    const receiver = client.createReceiver('tasks', { subQueueType: 'deadLetter' });
    const peeked = await receiver.peekMessages(100);
    return peeked.map((m) => ({ body: m.body, reason: m.deadLetterReason }));
  } finally {
    await client.close();
  }
}

/** The whole app (every trigger of the table) on the local host, against a fresh stack. */
export async function startAppOnLocalHost(
  overrides: Record<string, string> = {},
): Promise<{ stack: AppStack; host: LocalHost }> {
  const stack = await startAppStack(overrides);
  return { stack, host: await startAppHost(stack.settings) };
}

/** A local host in a process of its own (`--role worker` or `http`), for tests that kill it; resolves once it serves. */
export async function startHostProcess(
  env: Record<string, string>,
  role: 'worker' | 'http' = 'worker',
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(__dirname, '..', '..', 'local-dev', 'host-process.js'), '--role', role],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  assert.match(line, /^http:\/\/127.0.0.1:\d+$/);
  return { child, url: line };
}

/** A worker in a process of its own (the local host running the Service Bus trigger), for tests that kill it. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  return (await startHostProcess(env)).child;
}
