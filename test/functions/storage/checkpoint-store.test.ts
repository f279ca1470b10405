import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { appServices } from '../../../functions/app/app-services';
import { describeError } from '../../../functions/platform/describe-error';
import { isBlobNotFound } from '../../../functions/storage/blob-store';
import {
  CheckpointBlobMissingError,
  LeaseLostError,
  type CheckpointStore,
} from '../../../functions/storage/checkpoint-store';
import { startAppStack, type AppStack } from '../../support/app-stack';

/** When and where a step ran, as the engine passes it. */
const timing = (slice = 0, attempt = 1, startedAt = new Date()) => ({ startedAt, slice, attempt });

describe('checkpoint store (Table storage on Azurite)', () => {
  let stack: AppStack;
  let store: CheckpointStore;
  before(async () => {
    stack = await startAppStack();
    store = appServices().checkpoints;
  });
  after(() => stack.stop());

  it('gives a live lease to one owner only, and an expired one to the next', async () => {
    const task = randomUUID();
    const a = await store.acquire(task, 'a', 300);
    assert.ok(a);
    assert.equal(await store.acquire(task, 'b', 300), undefined, 'a live lease is left alone');
    await new Promise((r) => setTimeout(r, 350));
    const b = await store.acquire(task, 'b', 10_000);
    assert.ok(b, 'an expired lease may be taken over');
    // The old holder can no longer checkpoint or renew.
    await assert.rejects(store.commitStep(a, 'late', 1, timing()), LeaseLostError);
    await assert.rejects(store.renew(a, 1_000), LeaseLostError);
    assert.deepEqual([...(await store.completedSteps(task)).keys()], []);
  });

  it('commits steps under the lease and replays them, large results through Blob', async () => {
    const task = randomUUID();
    const lease = await store.acquire(task, 'w', 10_000);
    assert.ok(lease);
    const big = { rows: 'y'.repeat(200_000) };
    await store.commitStep(lease, 'page-1', { n: 1 }, timing());
    await store.commitStep(lease, 'page/2?#', big, timing());
    await store.renew(lease, 10_000);
    const steps = await store.completedSteps(task);
    assert.deepEqual(steps.get('page-1'), { n: 1 });
    assert.deepEqual(steps.get('page/2?#'), big, 'odd names and a 200 kB result round-trip');
  });

  it('records when, in which slice and attempt each step ran and its stored size, and the step in flight at a heartbeat', async () => {
    const task = randomUUID();
    const first = await store.acquire(task, 'w1', 10_000);
    assert.ok(first);
    const startedAt = new Date(Date.now() - 1_500);
    await store.commitStep(first, 'fetch', { rows: 3 }, timing(0, 1, startedAt));
    await store.release(first, 1);
    const second = await store.acquire(task, 'w2', 10_000);
    assert.ok(second);
    await store.commitStep(second, 'large', { pad: 'p'.repeat(40_000) }, timing(1, 2));
    const parseStarted = new Date();
    await store.renew(second, 10_000, { name: 'parse', startedAt: parseStarted });

    const records = await store.stepRecords(task);
    const byName = new Map(records.completed.map((step) => [step.name, step]));
    const fetched = byName.get('fetch');
    assert.ok(fetched);
    assert.equal(fetched.startedAt?.toISOString(), startedAt.toISOString());
    assert.ok(fetched.finishedAt && fetched.finishedAt.getTime() >= startedAt.getTime() + 1_500);
    assert.deepEqual(
      [fetched.slice, fetched.attempt, fetched.bytes],
      [0, 1, Buffer.byteLength('{"rows":3}')],
    );
    const large = byName.get('large');
    assert.deepEqual([large?.slice, large?.attempt], [1, 2]);
    assert.ok((large?.bytes ?? 0) > 40_000, 'the size of a result kept in Blob');
    assert.deepEqual(records.inFlight, { name: 'parse', startedAt: parseStarted, slice: 1, leaseLive: true });

    // A commit means the step in flight is done; a release means nothing is in flight.
    await store.commitStep(second, 'parse', null, timing(1, 2, parseStarted));
    assert.equal((await store.stepRecords(task)).inFlight, undefined);
    await store.renew(second, 10_000, { name: 'next', startedAt: new Date() });
    await store.release(second, 2);
    assert.equal((await store.stepRecords(task)).inFlight, undefined);
    assert.deepEqual(await store.stepRecords(randomUUID()), { completed: [], inFlight: undefined });
  });

  it('keeps loop state across leases, large state through Blob, and the next slice on release', async () => {
    const task = randomUUID();
    const first = await store.acquire(task, 'w1', 10_000);
    assert.ok(first);
    const state = { offset: 123_456, sums: Array.from({ length: 5_000 }, (_, i) => i) };
    await store.saveState(first, state);
    await store.release(first, 4);
    const second = await store.acquire(task, 'w2', 10_000);
    assert.ok(second);
    await store.replay(second);
    assert.deepEqual(second.state, state);
    assert.equal(second.slice, 4);
    assert.deepEqual(await store.leaseState(task), { live: true, nextSlice: 4 });
  });

  const stateBlobs = async (task: string) => {
    const container = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE).getContainerClient(
      'checkpoints',
    );
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `${task}/state` })) names.push(b.name);
    return names;
  };

  it('a worker that lost the lease cannot overwrite the large state of the one that took it over', async () => {
    const task = randomUUID();
    const old = await store.acquire(task, 'old', 300);
    assert.ok(old);
    await store.saveState(old, { by: 'old', pad: 'o'.repeat(50_000) });
    await new Promise((r) => setTimeout(r, 350));
    const current = await store.acquire(task, 'new', 10_000);
    assert.ok(current);
    await store.saveState(current, { by: 'new', pad: 'n'.repeat(50_000) });
    await assert.rejects(store.saveState(old, { by: 'old again', pad: 'x'.repeat(50_000) }), LeaseLostError);
    await store.release(current, 1);
    const next = await store.acquire(task, 'next', 10_000);
    assert.ok(next);
    await store.replay(next);
    assert.equal((next.state as { by: string }).by, 'new');
    assert.equal((await stateBlobs(task)).length, 1, 'replaced and refused state blobs are deleted');
  });

  const checkpointBlobs = async (task: string) => {
    const container = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE).getContainerClient(
      'checkpoints',
    );
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `${task}/` })) names.push(b.name);
    return { container, names };
  };

  /**
   * Replay fails naming the blob (the engine fails the task with checkpoint_missing); the cause is Storage's 404 on
   * the one GET that reads it.
   */
  async function assertMissing(lease: Parameters<CheckpointStore['replay']>[0], blob: string): Promise<void> {
    const err = await store.replay(lease).then(
      () => assert.fail('replay succeeded without the blob'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CheckpointBlobMissingError, describeError(err));
    assert.equal(err.ref, `checkpoints/${blob}`);
    assert.equal(err.message, `checkpoint blob checkpoints/${blob}`);
    assert.ok(isBlobNotFound(err.cause), describeError(err.cause));
    const request = (err.cause as { request: { method: string; url: string } }).request;
    assert.equal(request.method, 'GET');
    assert.match(new URL(request.url).pathname, new RegExp(`/checkpoints/${blob}$`));
  }

  it('a step result blob that is gone fails replay, naming the blob', async () => {
    const task = randomUUID();
    const lease = await store.acquire(task, 'w', 10_000);
    assert.ok(lease);
    await store.commitStep(lease, 'big', { pad: 'b'.repeat(40_000) }, timing());
    const { container, names } = await checkpointBlobs(task);
    assert.equal(names.length, 1);
    await container.deleteBlob(names[0]);
    await assertMissing(lease, names[0]);
  });

  it('a loop state blob that is gone fails replay, naming the blob', async () => {
    const task = randomUUID();
    const first = await store.acquire(task, 'w1', 10_000);
    assert.ok(first);
    await store.saveState(first, { pad: 's'.repeat(40_000) });
    await store.release(first, 1);
    const { container, names } = await checkpointBlobs(task);
    await container.deleteBlob(names[0]);
    const second = await store.acquire(task, 'w2', 10_000);
    assert.ok(second);
    assert.equal(second.created, undefined, 'the lease row is there');
    await assertMissing(second, names[0]);
  });

  it('tells a lease row it created from one that was there', async () => {
    const task = randomUUID();
    const first = await store.acquire(task, 'w1', 10_000);
    assert.equal(first?.created, true);
    await store.release(first!, 1);
    assert.equal((await store.acquire(task, 'w2', 10_000))?.created, undefined);
  });

  it('knows a blob or container that is not there from other failures', async () => {
    const { blobs } = appServices();
    const missingBlob = await blobs.getJson(`payloads/${randomUUID()}.json`).catch((e: unknown) => e);
    assert.ok(isBlobNotFound(missingBlob));
    assert.match(describeError(missingBlob), /^The specified blob does not exist\./);
    const missingContainer = await blobs.getJson(`no-such-container/x.json`).catch((e: unknown) => e);
    assert.ok(isBlobNotFound(missingContainer));
    assert.match(describeError(missingContainer), /^The specified container does not exist\./);
    const name = `${randomUUID()}.json`;
    await blobs.putJson('payloads', name, Buffer.from('1'));
    const conflict = await blobs.putJson('payloads', name, Buffer.from('2')).catch((e: unknown) => e);
    assert.equal((conflict as { statusCode?: number }).statusCode, 409, describeError(conflict));
    assert.equal(isBlobNotFound(conflict), false);
  });
});
