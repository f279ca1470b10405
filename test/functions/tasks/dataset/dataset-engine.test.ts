import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appServices } from '../../../../functions/app/app-services';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import type { LocalHost } from '../../../../local-dev/host';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { isFinished, startWorker, taskState, waitForTask } from '../../../support/engine-harness';
import { call } from '../../../support/http';
import {
  DATASET_TEST_MB,
  DATASET_TEST_SLICE_SECONDS,
  resultOf,
  resumedAt,
  singlePassOf,
  submitDataset,
  uploadCsv,
} from './support/dataset-harness';

describe(`dataset task on the engine (${DATASET_TEST_MB} MB CSV, Azurite, Service Bus emulator, Postgres)`, () => {
  let stack: AppStack;
  let worker: LocalHost | undefined;
  before(async () => {
    // A short slice budget cuts the task into several slices (budget + 1 s of grace each), each resuming from
    // its last checkpoint.
    stack = await startAppStack({
      SLICE_BUDGET_SECONDS: String(DATASET_TEST_SLICE_SECONDS),
      LEASE_SECONDS: '10',
      HEARTBEAT_SECONDS: '2',
    });
    worker = await startWorker(stack);
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
  });

  it('gives exactly the statistics of one uninterrupted pass, across several slices', async () => {
    const { ref, stats } = await uploadCsv(stack, 'generated.csv', DATASET_TEST_MB);
    const input = {
      blob: ref,
      groupBy: { keys: ['region', 'flag'], sum: ['amount', 'quantity'] },
      checkpointBytes: 2 << 20,
    };
    const id = await submitDataset(input);
    const task = await waitForTask(stack, id, isFinished, 60_000 + DATASET_TEST_MB * 2_000);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.error));

    const result = await resultOf(id);
    assert.deepStrictEqual(result, await singlePassOf(input));

    const { nextSlice } = await appServices().checkpoints.leaseState(id);
    assert.ok(nextSlice >= 3, `ran in ${nextSlice} slices`);
    const resumes = await resumedAt(stack, id);
    assert.equal(resumes.length, nextSlice - 1, 'every slice after the first resumed from a checkpoint');
    assert.ok(
      resumes.every((offset, i) => offset > (resumes[i - 1] ?? 0)),
      `resumed at ${resumes.join(', ')}: always further on, never from the start`,
    );

    const r = result as {
      rows: number;
      bytes: number;
      malformed: { count: number; samples: Array<{ line: number }> };
    };
    assert.equal(r.rows, stats.rows);
    assert.equal(r.bytes, stats.bytes);
    assert.equal(r.malformed.count, stats.malformedLines.length);
    assert.deepEqual(
      r.malformed.samples.map((s) => s.line),
      stats.malformedLines.slice(0, r.malformed.samples.length),
    );
    assert.equal((await taskState(stack, id)).progress?.current, stats.bytes);
  });

  it('refuses a blob outside the uploads container, and fails at once on a missing one', async () => {
    const res = await call(submitTask, {
      method: 'POST',
      path: '/api/tasks',
      body: { type: 'dataset', input: { blob: 'uploads/../payloads/secret.json' } },
    });
    assert.equal(res.status, 422);
    const id = await submitDataset({ blob: 'uploads/no-such-file.csv' });
    const task = await waitForTask(stack, id, isFinished);
    assert.equal(task.status, 'failed');
    assert.equal(task.error?.code, 'blob_not_found');
    assert.equal(task.attempts, 1);
  });
});
