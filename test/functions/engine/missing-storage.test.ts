import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { appServices } from '../../../functions/app/app-services';
import { runTaskSlice } from '../../../functions/app/servicebus/process-task-message';
import type { LocalHost } from '../../../local-dev/host';
import { startAppStack, type AppStack } from '../../support/app-stack';
import {
  deadLetters,
  invocation,
  isFinished,
  startWorker,
  stepRuns,
  submitSimulate,
  waitForTask,
} from '../../support/engine-harness';

/**
 * Storage that lost what a task's state says it holds (its claim-check payload, its checkpoints): no retry can bring
 * that back, so the task fails at once with a code that says what is gone, and its message is dead-lettered.
 */
describe('a task whose payload or checkpoints are gone from storage', () => {
  let stack: AppStack;
  let worker: LocalHost | undefined;
  const ids = { payload: '', leaseRow: '', stepBlob: '' };

  before(async () => {
    stack = await startAppStack({
      SLICE_BUDGET_SECONDS: '1',
      LEASE_SECONDS: '2',
      HEARTBEAT_SECONDS: '1',
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_ATTEMPTS: '3',
      // The engine warns of each failure and dead letter, as expected here.
      LOG_LEVEL: 'error',
    });
    const { blobs, checkpoints } = appServices();
    ids.payload = await submitSimulate({ steps: 1, stepMs: 0 });
    await blobs.delete(`payloads/${ids.payload}.json`);

    // Slice 0 of each by hand: step 0 is checkpointed (in a blob of its own when its result is large), step 1 hangs
    // until the slice budget ends, and the task continues in slice 1.
    [ids.leaseRow, ids.stepBlob] = await Promise.all([
      submitSimulate({ steps: 3, stepMs: 0, hangAtStep: 1 }),
      submitSimulate({ steps: 3, stepMs: 0, hangAtStep: 1, resultBytes: 40_000 }),
    ]);
    await Promise.all(
      [ids.leaseRow, ids.stepBlob].map((taskId) => runTaskSlice({ taskId, slice: 0 }, invocation())),
    );
    await checkpoints.deleteTask(ids.leaseRow);
    const container = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE).getContainerClient(
      'checkpoints',
    );
    for await (const blob of container.listBlobsFlat({ prefix: `${ids.stepBlob}/step-` })) {
      await container.deleteBlob(blob.name);
    }

    worker = await startWorker(stack);
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
  });

  /** The task failed with `code` on its only attempt, no retry was scheduled, and its message was dead-lettered. */
  async function assertFailedAtOnce(id: string, code: string): Promise<{ message: string }> {
    const task = await waitForTask(stack, id, isFinished, 10_000);
    assert.equal(task.status, 'failed');
    assert.equal(task.error?.code, code);
    assert.equal(task.attempts, 1);
    const { rows } = await stack.pool.query(
      `SELECT message FROM task_events WHERE task_id = $1 AND message LIKE 'attempt % failed%'`,
      [id],
    );
    assert.deepEqual(rows, [], 'no retry');
    let reasons: Array<string | undefined> = [];
    for (const end = Date.now() + 5_000; !reasons.includes(code) && Date.now() < end;) {
      const dead = await deadLetters(stack);
      reasons = dead.filter((d) => (d.body as { taskId?: string }).taskId === id).map((d) => d.reason);
      if (!reasons.includes(code)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(reasons, [code], 'its message is dead-lettered once, with the code as the reason');
    return task.error!;
  }

  it('fails with payload_missing, naming the blob, when its claim-check payload is gone', async () => {
    const error = await assertFailedAtOnce(ids.payload, 'payload_missing');
    assert.equal(
      error.message,
      `the task's payload blob payloads/${ids.payload}.json is missing from storage`,
    );
    assert.deepEqual(await stepRuns(stack, ids.payload), {}, 'no step ran');
  });

  it('fails with checkpoint_missing when a task that ran a slice finds no lease row', async () => {
    const error = await assertFailedAtOnce(ids.leaseRow, 'checkpoint_missing');
    assert.equal(
      error.message,
      `the task's lease row (partition ${ids.leaseRow} of the checkpoint table) is missing from storage`,
    );
    assert.equal((await stepRuns(stack, ids.leaseRow))['step-0'], 1, 'the completed step did not run again');
  });

  it('fails with checkpoint_missing, naming the blob, when a step result it replays is gone', async () => {
    const error = await assertFailedAtOnce(ids.stepBlob, 'checkpoint_missing');
    assert.match(
      error.message,
      new RegExp(
        `^the task's checkpoint blob checkpoints/${ids.stepBlob}/step-[\\w-]+\\.json is missing from storage$`,
      ),
    );
    assert.equal((await stepRuns(stack, ids.stepBlob))['step-0'], 1, 'the completed step did not run again');
  });
});
