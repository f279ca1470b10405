import { setTimeout as sleep } from 'node:timers/promises';
import { appServices } from '../functions/app/app-services';
import { startBenchStack } from './bench-stack';
import { submitOverHttp } from './longhaul-driver';
import { cpuMsOf, startHostProcess, stopChildren, type StartedChild } from './processes';

export interface CpuPerTaskSizes {
  /** No-op tasks through fresh processes, which V8 has not compiled yet: what a cold instance pays. */
  coldTasks: number;
  /** No-op tasks a round, once the processes are warm. */
  tasks: number;
  /** Tasks of `stepsPerTask` steps a round, for the cost of a step. */
  stepTasks: number;
  /** Warm rounds of each kind: each figure is the median round's, as the load of the other processes varies. */
  rounds: number;
  stepsPerTask: number;
  /** Submits in flight. */
  concurrency: number;
}

export interface CpuPhase {
  /** Tasks a round. */
  tasks: number;
  /** CPU of the API process per submit (POST /api/tasks to its 202), while no worker runs. */
  apiMsPerSubmit: number;
  /** CPU of the worker process per task, from the moment it resumes until every task of the phase has finished. */
  workerMsPerTask: number;
}

export interface CpuPerTaskResult {
  sizes: CpuPerTaskSizes;
  cold: CpuPhase;
  warm: CpuPhase;
  steps: CpuPhase & { stepsPerTask: number; workerMsPerStep: number };
}

export const CPU_PER_TASK_SIZES: CpuPerTaskSizes = {
  coldTasks: 200,
  tasks: 300,
  stepTasks: 50,
  stepsPerTask: 20,
  rounds: 5,
  concurrency: 16,
};

/**
 * CPU per submit and per task, each process measured alone: the worker is stopped (SIGSTOP) while the API takes a
 * phase's submits, so the API's CPU is the submits' alone; then it is resumed and runs the queued tasks, with nothing
 * else running, until all have finished. Cold (fresh processes), warm (after that, the median of several rounds), and
 * tasks of many steps, whose
 * extra CPU over a no-op task's, per extra step, is the cost of a step. The worker process holds the local Functions
 * host too (Service Bus receive, settlement), which on Azure is a process of its own: bench/call-cost.ts measures
 * that share.
 */
export async function benchCpuPerTask(
  sizes: CpuPerTaskSizes = CPU_PER_TASK_SIZES,
): Promise<CpuPerTaskResult> {
  const stack = await startBenchStack();
  const children: StartedChild[] = [];
  try {
    const api = await startHostProcess('http', stack.settings);
    children.push(api);
    const worker = await startHostProcess('worker', stack.settings);
    children.push(worker);
    const phase = async (tasks: number, steps: number): Promise<CpuPhase> => {
      const body = JSON.stringify({ type: 'simulate', input: { steps, stepMs: 0 } });
      worker.child.kill('SIGSTOP');
      const apiBefore = cpuMsOf(api.child.pid!);
      const ids: string[] = [];
      let sent = 0;
      await Promise.all(
        Array.from({ length: sizes.concurrency }, async () => {
          while (sent < tasks) {
            sent++;
            ids.push(await submitOverHttp(api.line, body));
          }
        }),
      );
      const apiMs = cpuMsOf(api.child.pid!) - apiBefore;
      const workerBefore = cpuMsOf(worker.child.pid!);
      worker.child.kill('SIGCONT');
      await allSucceeded(ids);
      return {
        tasks,
        apiMsPerSubmit: apiMs / tasks,
        workerMsPerTask: (cpuMsOf(worker.child.pid!) - workerBefore) / tasks,
      };
    };
    const rounds = async (tasks: number, steps: number): Promise<CpuPhase> => {
      const each: CpuPhase[] = [];
      for (let i = 0; i < sizes.rounds; i++) each.push(await phase(tasks, steps));
      return {
        tasks,
        apiMsPerSubmit: median(each, 'apiMsPerSubmit'),
        workerMsPerTask: median(each, 'workerMsPerTask'),
      };
    };
    const cold = await phase(sizes.coldTasks, 1);
    const warm = await rounds(sizes.tasks, 1);
    const stepped = await rounds(sizes.stepTasks, sizes.stepsPerTask);
    return {
      sizes,
      cold,
      warm,
      steps: {
        ...stepped,
        stepsPerTask: sizes.stepsPerTask,
        workerMsPerStep: (stepped.workerMsPerTask - warm.workerMsPerTask) / (sizes.stepsPerTask - 1),
      },
    };
  } finally {
    await stopChildren(children.map((c) => c.child));
    await stack.stop();
  }
}

function median(phases: CpuPhase[], key: 'apiMsPerSubmit' | 'workerMsPerTask'): number {
  const sorted = phases.map((p) => p[key]).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Waits until every task has succeeded; one that ends otherwise fails the benchmark. */
async function allSucceeded(ids: string[]): Promise<void> {
  for (;;) {
    const { rows } = await appServices().pool.query<{ status: string; count: number }>(
      'SELECT status, count(*)::int AS count FROM tasks WHERE id = ANY($1) GROUP BY status',
      [ids],
    );
    const bad = rows.find((r) => r.status === 'failed' || r.status === 'cancelled');
    if (bad) throw new Error(`${bad.count} task(s) ${bad.status}`);
    if (rows.find((r) => r.status === 'succeeded')?.count === ids.length) return;
    await sleep(50);
  }
}
