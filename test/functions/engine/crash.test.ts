import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { sweepTasks } from '../../../functions/app/timers/sweep-tasks';
import { startAppStack, type AppStack } from '../../support/app-stack';
import {
  invocation,
  timer,
  isFinished,
  stepRuns,
  submitSimulate,
  startWorkerProcess,
  waitForTask,
} from '../../support/engine-harness';

describe('a worker process killed with SIGKILL mid-step', () => {
  let stack: AppStack;
  const workers: ChildProcess[] = [];
  before(async () => {
    stack = await startAppStack({ LEASE_SECONDS: '2', HEARTBEAT_SECONDS: '1' });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await stack.stop();
  });

  it('loses at most the step in flight: the task finishes and no checkpointed step runs again', async () => {
    workers.push(await startWorkerProcess(stack.settings));
    const id = await submitSimulate({ steps: 20, stepMs: 150 });
    await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 6);
    workers[0].kill('SIGKILL');
    await once(workers[0], 'exit');
    const before = await stepRuns(stack, id);

    workers.push(await startWorkerProcess(stack.settings));
    // The dead worker's message stays locked for a minute; once its lease has expired the sweeper re-drives the task.
    await new Promise((r) => setTimeout(r, 3_500));
    await sweepTasks(timer, invocation());
    const task = await waitForTask(stack, id, isFinished, 30_000);
    assert.equal(task.status, 'succeeded');

    const runs = await stepRuns(stack, id);
    assert.equal(Object.keys(runs).length, 20);
    const twice = Object.entries(runs).filter(([, n]) => n > 1);
    assert.ok(twice.length <= 1, `steps run more than once: ${JSON.stringify(twice)}`);
    for (const [step] of twice) {
      assert.equal(before[step], 1, `${step} was the step in flight when the worker died`);
    }
    assert.ok(Object.values(runs).every((n) => n <= 2));
  });
});
