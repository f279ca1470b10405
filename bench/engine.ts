import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvocationContext } from '@azure/functions';
import { appServices, closeAppServices } from '../functions/app/app-services';
import { sweepTasks } from '../functions/app/timers/sweep-tasks';
import { startBenchStack, submitTask } from './bench-stack';
import { startHostProcess, stopChildren } from './processes';

export interface EngineBenchResult {
  checkpoint: {
    steps: number;
    stepMs: number;
    engineMs: number;
    baselineMs: number;
    overheadShare: number;
    overheadPerStepMs: number;
  };
  crash: { steps: number; killedAfterSteps: number; reExecutedSteps: number; recoveryMs: number };
}

async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  return (await startHostProcess('worker', env)).child;
}

async function submit(input: Record<string, unknown>): Promise<string> {
  return (await submitTask('simulate', input)).id;
}

async function waitFor(
  id: string,
  done: (row: { status: string; current: number }) => boolean,
): Promise<void> {
  for (;;) {
    const row = await appServices().repository.find(id);
    if (row && done({ status: row.status, current: Number(row.progress?.current ?? 0) })) return;
    await sleep(50);
  }
}

/** Checkpoint overhead for a 1,000-step task (by default), and work lost when a worker is killed mid-task. */
export async function benchEngine(steps = 1_000): Promise<EngineBenchResult> {
  const stack = await startBenchStack({ LEASE_SECONDS: '3', HEARTBEAT_SECONDS: '1' });
  const workers: ChildProcess[] = [];
  try {
    workers.push(await startWorker(stack.settings));
    const stepMs = 10;
    const baselineStart = performance.now();
    for (let i = 0; i < steps; i++) await sleep(stepMs);
    const baselineMs = performance.now() - baselineStart;
    const id = await submit({ steps, stepMs });
    await waitFor(id, (r) => r.status === 'succeeded');
    const row = await appServices().repository.find(id);
    const engineMs = row!.finishedAt!.getTime() - row!.startedAt!.getTime();

    const crashSteps = 40;
    const crashId = await submit({ steps: crashSteps, stepMs: 100 });
    await waitFor(crashId, (r) => r.current >= 10);
    const killedAfterSteps = Number((await appServices().repository.find(crashId))!.progress?.current ?? 0);
    workers[0].kill('SIGKILL');
    await once(workers[0], 'exit');
    const killedAt = performance.now();
    workers.push(await startWorker(stack.settings));
    await sleep(4_500); // lease (3 s) and a heartbeat past
    await sweepTasks(
      {
        isPastDue: false,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: '', next: '', lastUpdated: '' },
      },
      new InvocationContext({ functionName: 'sweepTasks', logHandler: () => undefined }),
    );
    await waitFor(crashId, (r) => r.status === 'succeeded');
    const recoveryMs = performance.now() - killedAt;
    const runs = await appServices().ledger.runs(crashId);
    const reExecutedSteps = Object.values(runs).reduce((a, n) => a + n, 0) - crashSteps;
    return {
      checkpoint: {
        steps,
        stepMs,
        engineMs,
        baselineMs,
        overheadShare: (engineMs - baselineMs) / engineMs,
        overheadPerStepMs: (engineMs - baselineMs) / steps,
      },
      crash: { steps: crashSteps, killedAfterSteps, reExecutedSteps, recoveryMs },
    };
  } finally {
    // Before the stack goes: a worker closing against stopped emulators would never finish closing.
    await stopChildren(workers);
    await closeAppServices();
    await stack.stop();
  }
}
