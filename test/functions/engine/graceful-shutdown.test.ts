import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startAppStack, type AppStack } from '../../support/app-stack';
import {
  isFinished,
  startWorkerProcess,
  stepRuns,
  submitSimulate,
  waitForTask,
} from '../../support/engine-harness';

describe('a worker process stopped with SIGTERM', () => {
  let stack: AppStack;
  const workers: ChildProcess[] = [];
  before(async () => {
    // The default 60 s lease: a task that a stopping worker did not hand on would wait for it to expire.
    stack = await startAppStack({ LEASE_SECONDS: '60' });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await stack.stop();
  });

  it('hands its running task on at once: no step runs twice and another worker finishes it without waiting for the lease', async () => {
    workers.push(await startWorkerProcess(stack.settings));
    const id = await submitSimulate({ steps: 30, stepMs: 200 });
    await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 5);

    const stoppedAt = Date.now();
    workers[0].kill('SIGTERM');
    const [code] = (await once(workers[0], 'exit')) as [number | null];
    const stopMs = Date.now() - stoppedAt;
    assert.equal(code, 0);
    assert.ok(stopMs < 10_000, `the worker took ${stopMs} ms to stop`);
    const { rows } = await stack.pool.query<{ message: string; data: { reason?: string } }>(
      `SELECT message, data FROM task_events WHERE task_id = $1 AND type = 'log' AND data->>'reason' = 'shutdown'`,
      [id],
    );
    assert.equal(rows.length, 1, 'the task history says the slice stopped for a shutdown');
    assert.match(rows[0].message, /^slice 0 stopped: the worker is shutting down; continuing in slice 1$/);
    const before = await stepRuns(stack, id);
    assert.ok(Object.keys(before).length < 30, 'the task was stopped part-way');

    const restartedAt = Date.now();
    workers.push(await startWorkerProcess(stack.settings));
    const task = await waitForTask(stack, id, isFinished, 30_000);
    assert.equal(task.status, 'succeeded');
    // Well under the 60 s lease: the stopping worker released it rather than leaving it to expire.
    const finishMs = Date.now() - restartedAt;
    assert.ok(finishMs < 30_000, `the task took ${finishMs} ms to finish after the restart`);
    const runs = await stepRuns(stack, id);
    assert.equal(Object.keys(runs).length, 30);
    assert.deepEqual(
      Object.entries(runs).filter(([, n]) => n !== 1),
      [],
      'the step in flight finished within the grace and was checkpointed',
    );
  });
});
