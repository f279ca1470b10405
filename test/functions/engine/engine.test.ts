import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';
import { appServices } from '../../../functions/app/app-services';
import { cancelTask } from '../../../functions/app/http/handlers/cancel-task';
import { runTaskSlice } from '../../../functions/app/servicebus/process-task-message';
import { sweepTasks } from '../../../functions/app/timers/sweep-tasks';
import type { LocalHost } from '../../../local-dev/host';
import { appRedis, startAppStack, type AppStack } from '../../support/app-stack';
import {
  deadLetters,
  invocation,
  timer,
  isFinished,
  startWorker,
  stepRuns,
  submitSimulate,
  taskState,
  waitForTask,
} from '../../support/engine-harness';
import { call } from '../../support/http';

describe('durable engine (invariants of design §4)', () => {
  let stack: AppStack;
  let worker: LocalHost | undefined;
  before(async () => {
    stack = await startAppStack({
      SLICE_BUDGET_SECONDS: '1',
      LEASE_SECONDS: '2',
      HEARTBEAT_SECONDS: '1',
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_ATTEMPTS: '3',
    });
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
  });

  it('runs the same message delivered twice at once only once (one lease holder)', async () => {
    const id = await submitSimulate({ steps: 5, stepMs: 20 });
    const message = { taskId: id, slice: 0 };
    await Promise.all([runTaskSlice(message, invocation('a')), runTaskSlice(message, invocation('b'))]);
    const task = await taskState(stack, id);
    assert.equal(task.status, 'succeeded');
    assert.deepEqual(await stepRuns(stack, id), {
      'step-0': 1,
      'step-1': 1,
      'step-2': 1,
      'step-3': 1,
      'step-4': 1,
    });
  });

  it('after taking over from a dead worker, publishes what it may have left unpublished and reuses none of its seqs', async () => {
    const services = appServices();
    const id = await submitSimulate({ steps: 3, stepMs: 20 });
    const live: number[] = [];
    const unsubscribe = await services.subscriptions.subscribe(
      services.subscriptions.channels.task(id),
      (e) => live.push(e.seq),
    );
    // A worker that persisted event 2 and died before publishing it, having published a live-only progress event 3
    // that streams already got.
    assert.ok(await services.checkpoints.acquire(id, 'dead-worker', 200));
    await services.taskEvents.append(id, {
      type: 'log',
      seq: 2,
      level: 'info',
      message: 'never published',
    });
    const redis = await appRedis(services);
    await redis.publish(
      services.subscriptions.channels.task(id),
      JSON.stringify({ seq: 3, taskId: id, type: 'progress', at: new Date() }),
    );
    await new Promise((r) => setTimeout(r, 250));

    await runTaskSlice({ taskId: id, slice: 0 }, invocation());
    assert.equal((await taskState(stack, id)).status, 'succeeded');
    await new Promise((r) => setTimeout(r, 200));
    unsubscribe();
    const { rows } = await stack.pool.query<{ seq: number }>(
      'SELECT seq::int FROM task_events WHERE task_id = $1 AND seq > 1 ORDER BY seq',
      [id],
    );
    assert.ok(live.includes(2), 'the persisted event the dead worker never published is published');
    const later = rows.map((r) => r.seq).filter((seq) => seq > 2);
    assert.ok(
      later.length > 0 && later.every((seq) => seq > 3),
      `no seq of the dead worker reused: ${later.join(',')}`,
    );
    assert.ok(
      later.every((seq) => live.includes(seq)),
      'every later persisted event is published',
    );
  });

  it('ignores a late duplicate of a slice that already ran', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 0 });
    await runTaskSlice({ taskId: id, slice: 0 }, invocation());
    await runTaskSlice({ taskId: id, slice: 0 }, invocation());
    assert.deepEqual(await stepRuns(stack, id), { 'step-0': 1, 'step-1': 1 });
  });

  it('never re-drives a task whose lease is live, however silent its worker looks', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    const sb = new ServiceBusClient(stack.settings.ServiceBusConnection);
    const receiver = sb.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
    await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 });
    await stack.pool.query(
      `UPDATE tasks SET status = 'running', heartbeat_at = now() - interval '1 hour' WHERE id = $1`,
      [id],
    );
    const lease = await appServices().checkpoints.acquire(id, 'someone-alive', 60_000);
    assert.ok(lease);
    await sweepTasks(timer, invocation());
    const sent = await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 });
    assert.deepEqual(
      sent.filter((m) => (m.body as { taskId: string }).taskId === id),
      [],
    );
    await sb.close();
  });

  describe('with a worker on the local host', () => {
    before(async () => {
      worker = await startWorker(stack);
    });

    it('splits a long task into slices that finish with the right result, no step run twice', async () => {
      // 60 steps of 50 ms with a 1 s slice budget: several slices, each resuming from the checkpoints.
      const id = await submitSimulate({ steps: 60, stepMs: 50 });
      const task = await waitForTask(stack, id, isFinished, 30_000);
      assert.equal(task.status, 'succeeded');
      const runs = await stepRuns(stack, id);
      assert.equal(Object.keys(runs).length, 60);
      assert.ok(
        Object.values(runs).every((n) => n === 1),
        JSON.stringify(runs),
      );
      const { rows } = await stack.pool.query<{ data: { slice: number; nextSlice: number } }>(
        `SELECT data FROM task_events WHERE task_id = $1 AND type = 'log' AND message LIKE 'slice %' ORDER BY seq`,
        [id],
      );
      const boundaries = rows.map((r) => r.data.nextSlice);
      assert.deepEqual(
        boundaries,
        Array.from({ length: boundaries.length }, (_, i) => i + 1),
        'each slice boundary is in the history, in order',
      );
      assert.ok(boundaries.length + 1 >= 3, `ran in ${boundaries.length + 1} slices`);
      // The task is finished before its last slice releases the lease: wait for that release.
      let lease = await appServices().checkpoints.leaseState(id);
      for (const end = Date.now() + 5_000; lease.nextSlice <= boundaries.length && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 50));
        lease = await appServices().checkpoints.leaseState(id);
      }
      assert.equal(lease.nextSlice, boundaries.length + 1, 'the lease points past the last slice');
      const result = (await appServices().blobs.getJson(`results/${id}.json`)) as { totalExecutions: number };
      assert.equal(result.totalExecutions, 60);
    });

    it('retries a transient failure at step k from step k, not from step 1', async () => {
      const id = await submitSimulate({
        steps: 5,
        stepMs: 0,
        failAtStep: 3,
        failMode: 'transient',
        failTimes: 1,
      });
      const task = await waitForTask(stack, id, isFinished);
      assert.equal(task.status, 'succeeded');
      assert.equal(task.attempts, 2);
      assert.deepEqual(await stepRuns(stack, id), {
        'step-0': 1,
        'step-1': 1,
        'step-2': 1,
        'step-3': 2,
        'step-4': 1,
      });
      const { rows } = await stack.pool.query(
        `SELECT message FROM task_events WHERE task_id = $1 AND type = 'log' AND level = 'warn'`,
        [id],
      );
      assert.match(rows[0].message, /attempt 1 failed; retrying in \d+ s/);
    });

    it('fails a permanent failure at once and dead-letters its message with the reason', async () => {
      const id = await submitSimulate({ steps: 3, stepMs: 0, failAtStep: 1, failMode: 'permanent' });
      const task = await waitForTask(stack, id, isFinished);
      assert.equal(task.status, 'failed');
      assert.equal(task.attempts, 1);
      assert.deepEqual(task.error, {
        code: 'permanent_failure',
        message: 'simulated permanent failure at step 1',
        step: 'step-1',
      });
      const dead = await deadLetters(stack);
      assert.ok(
        dead.some((d) => (d.body as { taskId?: string }).taskId === id && d.reason === 'permanent_failure'),
      );
    });

    it('fails after RETRY_MAX_ATTEMPTS transient failures and dead-letters the last message', async () => {
      const id = await submitSimulate({ steps: 2, stepMs: 0, failAtStep: 0, failTimes: 50 });
      const task = await waitForTask(stack, id, isFinished, 30_000);
      assert.equal(task.status, 'failed');
      assert.equal(task.error?.code, 'retries_exhausted');
      assert.equal(task.attempts, 3);
      const dead = await deadLetters(stack);
      assert.ok(
        dead.some((d) => (d.body as { taskId?: string }).taskId === id && d.reason === 'retries_exhausted'),
      );
    });

    it('stops a cancelled running task within one step', async () => {
      const id = await submitSimulate({ steps: 100, stepMs: 100 });
      await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 3);
      const res = await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
      assert.equal(res.status, 202);
      const doneAtCancel = (await taskState(stack, id)).progress?.current ?? 0;
      const task = await waitForTask(stack, id, isFinished);
      assert.equal(task.status, 'cancelled');
      const ran = Object.keys(await stepRuns(stack, id)).length;
      assert.ok(ran <= doneAtCancel + 2, `ran ${ran} steps after ${doneAtCancel} were done at cancel`);
    });

    it('cancels a long step that honours ctx.signal within seconds', async () => {
      const id = await submitSimulate({ steps: 3, stepMs: 0, hangAtStep: 1 });
      await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 1);
      await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
      const started = Date.now();
      const task = await waitForTask(stack, id, isFinished, 10_000);
      assert.equal(task.status, 'cancelled');
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    });

    it('revives a task whose continuation message was lost (sweeper)', async () => {
      await worker?.close();
      worker = undefined;
      const id = await submitSimulate({ steps: 20, stepMs: 100 });
      // Drop the first message, run slice 0 by hand, then lose its continuation too.
      const sb = new ServiceBusClient(stack.settings.ServiceBusConnection);
      const receiver = sb.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
      await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 });
      await runTaskSlice({ taskId: id, slice: 0 }, invocation());
      const lost = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
      assert.ok(
        lost.some((m) => (m.body as { slice: number }).slice === 1),
        'slice 0 sent its continuation',
      );
      await sb.close();
      assert.equal((await taskState(stack, id)).status, 'running');
      // Silent for longer than lease + heartbeat: the sweeper sends the next slice.
      await new Promise((r) => setTimeout(r, 3_500));
      await sweepTasks(timer, invocation());
      worker = await startWorker(stack);
      const task = await waitForTask(stack, id, isFinished, 30_000);
      assert.equal(task.status, 'succeeded');
      const runs = await stepRuns(stack, id);
      assert.ok(
        Object.values(runs).every((n) => n === 1),
        JSON.stringify(runs),
      );
    });
  });
});
