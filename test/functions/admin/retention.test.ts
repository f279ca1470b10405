import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { purgeExpiredTasks } from '../../../functions/app/timers/purge-expired-tasks';
import { appServices } from '../../../functions/app/app-services';
import { cancelTask } from '../../../functions/app/http/handlers/cancel-task';
import type { LocalHost } from '../../../local-dev/host';
import { startAppStack, type AppStack } from '../../support/app-stack';
import {
  invocation,
  isFinished,
  startWorker,
  submitSimulate,
  timer,
  waitForTask,
} from '../../support/engine-harness';
import { call } from '../../support/http';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('retention: purgeExpiredTasks deletes old finished tasks and orphaned checkpoints, nothing else', () => {
  let stack: AppStack;
  let worker: LocalHost;
  let blobs: BlobServiceClient;
  let table: TableClient;
  const ids = { oldSucceeded: '', oldFailed: '', recent: '', running: '' };

  /** Everything a task keeps, wherever it is. */
  const footprint = async (id: string) => {
    const count = async (sql: string) => (await stack.pool.query<{ n: number }>(sql, [id])).rows[0].n;
    const blobNames = async (container: string, prefix: string) => {
      const names: string[] = [];
      const client = blobs.getContainerClient(container);
      for await (const b of client.listBlobsFlat({ prefix })) names.push(b.name);
      return names;
    };
    const rows: string[] = [];
    for await (const e of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${id}'` } }))
      rows.push(e.rowKey as string);
    return {
      task: await count('SELECT count(*)::int AS n FROM tasks WHERE id = $1'),
      events: await count('SELECT count(*)::int AS n FROM task_events WHERE task_id = $1'),
      stepRuns: await count('SELECT count(*)::int AS n FROM step_runs WHERE task_id = $1'),
      payload: (await blobNames('payloads', id)).length,
      result: (await blobNames('results', id)).length,
      checkpointRows: rows.length,
      checkpointBlobs: (await blobNames('checkpoints', `${id}/`)).length,
    };
  };
  const purge = (days: number, now?: Date) =>
    appServices().retention.purge({ days, batchSize: 1, timeBudgetMs: 60_000 }, now);

  before(async () => {
    stack = await startAppStack({ LEASE_SECONDS: '2', HEARTBEAT_SECONDS: '1' });
    worker = await startWorker(stack);
    blobs = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE);
    table = TableClient.fromConnectionString(stack.settings.TASKS_STORAGE, 'checkpoints', {
      allowInsecureConnection: true,
    });
    // Step results over the table's inline limit: its checkpoints overflow to blobs.
    ids.oldSucceeded = await submitSimulate({ steps: 2, stepMs: 0, resultBytes: 40_000 });
    ids.oldFailed = await submitSimulate({ steps: 2, stepMs: 0, failAtStep: 1, failMode: 'permanent' });
    ids.recent = await submitSimulate({ steps: 2, stepMs: 0 });
    ids.running = await submitSimulate({ steps: 1, stepMs: 0, hangAtStep: 0 });
    for (const id of [ids.oldSucceeded, ids.oldFailed, ids.recent]) await waitForTask(stack, id, isFinished);
    await waitForTask(stack, ids.running, (t) => t.status === 'running');
    await stack.pool.query(
      `UPDATE tasks SET finished_at = now() - interval '31 days' WHERE id = ANY($1::uuid[])`,
      [[ids.oldSucceeded, ids.oldFailed]],
    );
    // Old, but not finished: retention must never touch it.
    await stack.pool.query(`UPDATE tasks SET created_at = now() - interval '90 days' WHERE id = $1`, [
      ids.running,
    ]);
  });
  after(async () => {
    await call(cancelTask, {
      method: 'DELETE',
      path: `/api/tasks/${ids.running}`,
      params: { id: ids.running },
    });
    await waitForTask(stack, ids.running, isFinished).catch(() => undefined);
    await worker?.close();
    await stack?.stop();
  });

  it('deletes the blobs, checkpoints, events and rows of finished tasks older than RETENTION_DAYS, once, however many run at once', async () => {
    const before = await footprint(ids.oldSucceeded);
    assert.ok(before.checkpointBlobs >= 2, 'the large step results overflowed to blobs');
    assert.ok(
      before.checkpointRows >= 3 && before.events >= 3 && before.stepRuns === 2 && before.result === 1,
    );
    // Two instances at once, in batches of one: each task goes exactly once.
    const reports = await Promise.all([purge(30), purge(30)]);
    assert.equal(reports[0].tasksDeleted + reports[1].tasksDeleted, 2);
    const gone = {
      task: 0,
      events: 0,
      stepRuns: 0,
      payload: 0,
      result: 0,
      checkpointRows: 0,
      checkpointBlobs: 0,
    };
    assert.deepEqual(await footprint(ids.oldSucceeded), gone);
    assert.deepEqual(await footprint(ids.oldFailed), gone);
    const recent = await footprint(ids.recent);
    assert.deepEqual(
      { ...recent, events: recent.events > 0, checkpointRows: recent.checkpointRows > 0 },
      { task: 1, events: true, stepRuns: 2, payload: 1, result: 1, checkpointRows: true, checkpointBlobs: 0 },
    );
    const running = await footprint(ids.running);
    assert.equal(running.task, 1);
    assert.equal(running.payload, 1);
    assert.ok(running.checkpointRows >= 1, 'the running task keeps its lease');
  });

  it('runs as the timer trigger with the settings, and finds nothing more to do (idempotent)', async () => {
    const logs: string[] = [];
    const context = invocation();
    context.log = (...args: unknown[]) => void logs.push(args.join(' '));
    await purgeExpiredTasks(timer, context);
    assert.deepEqual(logs, [
      'retention: deleted 0 finished tasks older than 30 days and 0 orphaned checkpoints',
    ]);
    assert.equal((await footprint(ids.recent)).task, 1);
  });

  it('deletes checkpoints whose task row is gone, and never an unfinished task, even with everything expired', async () => {
    // A row deleted by hand (or by a deletion that crashed half-way) leaves its checkpoints behind.
    await stack.pool.query('DELETE FROM tasks WHERE id = $1', [ids.recent]);
    assert.ok((await footprint(ids.recent)).checkpointRows > 0);
    const report = await purge(1, new Date(Date.now() + 2 * DAY_MS));
    assert.deepEqual(report, { tasksDeleted: 0, orphanCheckpointsDeleted: 1, incomplete: false });
    assert.equal((await footprint(ids.recent)).checkpointRows, 0);
    const running = await footprint(ids.running);
    assert.equal(running.task, 1);
    assert.ok(running.checkpointRows >= 1);
    assert.equal(
      (await stack.pool.query(`SELECT status FROM tasks WHERE id = $1`, [ids.running])).rows[0].status,
      'running',
    );
  });

  it('keeps everything with RETENTION_DAYS=0', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    await waitForTask(stack, id, isFinished);
    await stack.pool.query(`UPDATE tasks SET finished_at = now() - interval '3650 days' WHERE id = $1`, [id]);
    assert.deepEqual(await purge(0), { tasksDeleted: 0, orphanCheckpointsDeleted: 0, incomplete: false });
    assert.equal((await footprint(id)).task, 1);
    assert.equal((await purge(30)).tasksDeleted, 1);
  });
});
