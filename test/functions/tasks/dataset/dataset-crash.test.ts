import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sweepTasks } from '../../../../functions/app/timers/sweep-tasks';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import {
  invocation,
  isFinished,
  startWorkerProcess,
  taskState,
  timer,
  waitForTask,
} from '../../../support/engine-harness';
import {
  checkpointedOffset,
  resultOf,
  resumedAt,
  singlePassOf,
  submitDataset,
  uploadCsv,
} from './support/dataset-harness';

const MiB = 1 << 20;

describe('dataset task in a worker process killed with SIGKILL mid-file', () => {
  let stack: AppStack;
  const workers: ChildProcess[] = [];
  before(async () => {
    stack = await startAppStack({ LEASE_SECONDS: '2', HEARTBEAT_SECONDS: '1' });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await stack.stop();
  });

  it('resumes from the last checkpointed offset and ends with exactly the statistics of one pass', async () => {
    const { ref, stats } = await uploadCsv(stack, 'killed.csv', 16);
    workers.push(await startWorkerProcess(stack.settings));
    const input = { blob: ref, checkpointBytes: MiB, groupBy: { keys: ['region'], sum: ['amount'] } };
    const id = await submitDataset(input);

    // Kill the worker once a few checkpoints are in, well before the end of the file.
    const deadline = Date.now() + 60_000;
    while ((await checkpointedOffset(id)) < 3 * MiB) {
      assert.ok(Date.now() < deadline, 'no checkpoint past 3 MiB within a minute');
      await sleep(20);
    }
    workers[0].kill('SIGKILL');
    await once(workers[0], 'exit');
    const atKill = await checkpointedOffset(id);
    assert.ok(
      atKill >= 3 * MiB && atKill < stats.bytes - 3 * MiB,
      `checkpointed at ${atKill} of ${stats.bytes}`,
    );
    assert.equal((await taskState(stack, id)).status, 'running');

    workers.push(await startWorkerProcess(stack.settings));
    // The dead worker's message stays locked; once its lease has expired the sweeper re-drives the task.
    await sleep(3_500);
    await sweepTasks(timer, invocation());
    const task = await waitForTask(stack, id, isFinished, 90_000);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.error));

    const resumes = await resumedAt(stack, id);
    assert.equal(resumes[0], atKill, `resumed at ${resumes.join(', ')}, last checkpoint ${atKill}`);
    assert.deepStrictEqual(await resultOf(id), await singlePassOf(input));
  });
});
