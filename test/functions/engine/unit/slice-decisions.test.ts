import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineTask, PermanentError, type TaskDefinition } from '../../../../functions/engine/define-task';
import { runSlice } from '../../../../functions/engine/run-slice';
import type { TaskRow } from '../../../../functions/model/task';
import { engineWorld, type EngineWorld } from '../../../support/engine-fakes';

/**
 * The engine's decisions (design §4) on in-memory ports: no Postgres, Redis, Azurite or emulator. The same behaviours
 * are proven end to end against the real services in ../engine.test.ts, crash.test.ts and missing-storage.test.ts.
 */

/** A task type taking `{ n }`, running `run`. */
function taskOf(type: string, run: TaskDefinition<z.ZodObject<{ n: z.ZodNumber }>>['run']): TaskDefinition {
  return defineTask({
    type,
    title: type,
    description: type,
    input: z.object({ n: z.number() }),
    example: { n: 1 },
    run,
  }) as TaskDefinition;
}

/** Runs `steps` named steps; each records that its body ran, so a test can tell a replayed step from a re-run one. */
function stepsTask(steps: number, body: (i: number) => Promise<void> | void = () => undefined) {
  const ran: string[] = [];
  const definition = taskOf('steps', async (_input, ctx) => {
    for (let i = 0; i < steps; i++) {
      await ctx.step(`step-${i}`, async () => {
        await body(i);
        ran.push(`step-${i}`);
        return i;
      });
    }
    return { done: steps };
  });
  return { definition, ran };
}

/** A queued task with its payload stored, and a run of its slice `slice` that settles through a recorded settlement. */
function queued(world: EngineWorld, type = 'steps', overrides: Partial<TaskRow> = {}) {
  const task = world.tasks.add(type, overrides);
  world.blobs.set(task.inputRef, { n: 1 });
  const run = async (slice = 0, attempt = 1, invocationId = 'worker-a') => {
    const settlement = world.settlement();
    await runSlice(world.ports, { taskId: task.id, slice, attempt }, { invocationId, settlement });
    return settlement.outcome;
  };
  return { task, run };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('engine decisions on in-memory ports', () => {
  it('runs every step once, stores the result, ends succeeded and completes the message', async () => {
    const { definition, ran } = stepsTask(3);
    const world = engineWorld([definition]);
    const { task, run } = queued(world);
    assert.deepEqual(await run(), ['complete']);
    assert.deepEqual(ran, ['step-0', 'step-1', 'step-2']);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
    assert.deepEqual(world.blobs.get(`results/${task.id}.json`), { done: 3 });
    assert.deepEqual(world.events.statuses(task.id), ['running', 'succeeded']);
    assert.equal((await world.ports.checkpoints.leaseState(task.id)).live, false, 'the lease is released');
    assert.deepEqual(world.announced, [task.id], 'the webhook is announced once');
  });

  it('replays the steps checkpointed by an earlier slice without running them again', async () => {
    const { definition, ran } = stepsTask(3);
    const world = engineWorld([definition]);
    const { task, run } = queued(world);
    world.checkpoints.steps.set(
      task.id,
      new Map<string, unknown>([
        ['step-0', 0],
        ['step-1', 1],
      ]),
    );
    world.checkpoints.seed(task.id, { owner: '', slice: 1 });
    assert.deepEqual(await run(1), ['complete']);
    assert.deepEqual(ran, ['step-2']);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
  });

  it('leaves a task whose lease another worker holds, and re-checks it when that lease expires', async () => {
    const { definition, ran } = stepsTask(1);
    const world = engineWorld([definition], { leaseSeconds: 30 });
    const { task, run } = queued(world);
    world.checkpoints.seed(task.id, { owner: 'worker-b', slice: 0, expiresInMs: 30_000 });
    const expiresAt = world.checkpoints.rows.get(task.id)?.expiresAt ?? 0;
    assert.deepEqual(await run(0, 1, 'worker-a'), ['complete']);
    assert.deepEqual(ran, []);
    assert.equal(world.sent.length, 1);
    const [{ message, options }] = world.sent;
    assert.deepEqual(message, { taskId: task.id, slice: 0, attempt: 1 });
    const due = options.scheduledAt?.getTime() ?? 0;
    assert.ok(due > expiresAt - 1_000 && due < expiresAt + 3_000, 'scheduled at about the lease expiry');
    assert.match(options.messageId, new RegExp(`^${task.id}:0:recheck:\\d+$`));
  });

  it('does nothing for a duplicate of a slice that already ran', async () => {
    const { definition, ran } = stepsTask(1);
    const world = engineWorld([definition]);
    const { task, run } = queued(world, 'steps', { status: 'running' });
    world.checkpoints.seed(task.id, { owner: '', slice: 2 });
    assert.deepEqual(await run(1), ['complete']);
    assert.deepEqual(ran, []);
    assert.deepEqual(world.sent, []);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running');
  });

  it('ends a slice whose budget is spent and sends the next slice only after releasing the lease', async () => {
    const { definition, ran } = stepsTask(40, () => sleep(20));
    const world = engineWorld([definition], { sliceBudgetSeconds: 0.15 });
    const { task, run } = queued(world);
    assert.deepEqual(await run(0), ['complete']);
    assert.ok(ran.length > 0 && ran.length < 40, `some steps ran (${ran.length})`);
    assert.equal(world.sent.length, 1);
    const [{ message, options, leaseOwnerAtSend }] = world.sent;
    assert.deepEqual(message, { taskId: task.id, slice: 1, attempt: 1 });
    assert.equal(options.messageId, `${task.id}:1`);
    assert.equal(leaseOwnerAtSend, '', 'the lease was free when the continuation left');
    assert.equal(world.checkpoints.rows.get(task.id)?.slice, 1);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running');
    assert.ok(world.events.of(task.id).some((e) => e.message?.includes('used its budget')));
  });

  it('retries a failing step in a scheduled message with the next attempt, then fails with retries_exhausted', async () => {
    const failing = taskOf('flaky', (_input, ctx) =>
      ctx.step('only', () => Promise.reject(new Error('upstream said 503'))),
    );
    const world = engineWorld([failing], { retryMaxAttempts: 2, retryBaseSeconds: 10 });
    const { task, run } = queued(world, 'flaky');
    assert.deepEqual(await run(0, 1), ['complete']);
    const [{ message, options }] = world.sent;
    assert.deepEqual(message, { taskId: task.id, slice: 1, attempt: 2 });
    assert.ok((options.scheduledAt?.getTime() ?? 0) > Date.now() + 4_000, 'after a backoff');
    assert.deepEqual(await run(1, 2), ['deadLetter retries_exhausted']);
    const row = world.tasks.rows.get(task.id);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.error?.code, 'retries_exhausted');
    assert.match(row?.error?.message ?? '', /attempt 2 failed: upstream said 503/);
    assert.equal(world.sent.length, 1, 'no retry after the last attempt');
  });

  it('fails at once, dead-lettering with the code, on a PermanentError or an input the schema refuses', async () => {
    const permanent = taskOf('refuses', async () => {
      throw new PermanentError('the file is not a CSV', 'bad_file');
    });
    const world = engineWorld([permanent]);
    const first = queued(world, 'refuses');
    assert.deepEqual(await first.run(), ['deadLetter bad_file']);
    assert.deepEqual(world.tasks.rows.get(first.task.id)?.error, {
      code: 'bad_file',
      message: 'the file is not a CSV',
    });
    const second = queued(world, 'refuses');
    world.blobs.set(second.task.inputRef, { n: 'not a number' });
    assert.deepEqual(await second.run(), ['deadLetter invalid_input']);
    assert.deepEqual(world.sent, [], 'no retry of either');
  });

  it('names the failed step in the error only when the error came out of that step', async () => {
    const inStep = taskOf('in-step', async (_input, ctx) => {
      await ctx.step('fine', () => 1);
      await ctx.step('parse', () => {
        throw new PermanentError('bad row 7', 'bad_row');
      });
    });
    const caught = taskOf('caught', async (_input, ctx) => {
      await ctx
        .step('optional', () => {
          throw new Error('not there');
        })
        .catch(() => undefined);
      throw new PermanentError('gave up after the step', 'gave_up');
    });
    const world = engineWorld([inStep, caught]);
    const first = queued(world, 'in-step');
    await first.run();
    assert.deepEqual(world.tasks.rows.get(first.task.id)?.error, {
      code: 'bad_row',
      message: 'bad row 7',
      step: 'parse',
    });
    const second = queued(world, 'caught');
    await second.run();
    assert.deepEqual(world.tasks.rows.get(second.task.id)?.error, {
      code: 'gave_up',
      message: 'gave up after the step',
    });
  });

  it('fails with payload_missing when the claim-check blob is gone', async () => {
    const { definition } = stepsTask(1);
    const world = engineWorld([definition]);
    const { task, run } = queued(world);
    world.blobs.delete(task.inputRef);
    assert.deepEqual(await run(), ['deadLetter payload_missing']);
    assert.equal(world.tasks.rows.get(task.id)?.error?.code, 'payload_missing');
  });

  it('cancels a task whose cancel was requested before its slice began, running nothing', async () => {
    const { definition, ran } = stepsTask(2);
    const world = engineWorld([definition]);
    const { task, run } = queued(world, 'steps', { cancelRequested: true });
    assert.deepEqual(await run(), ['complete']);
    assert.deepEqual(ran, []);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'cancelled');
  });

  it('stops between steps once a cancel is requested mid-run', async () => {
    const at: { task?: TaskRow; world?: EngineWorld } = {};
    const { definition, ran } = stepsTask(5, (i) => {
      const row = at.world?.tasks.rows.get(at.task?.id ?? '');
      if (i === 1 && row) row.cancelRequested = true;
    });
    const world = (at.world = engineWorld([definition]));
    const { task, run } = queued(world);
    at.task = task;
    await run();
    assert.deepEqual(ran, ['step-0', 'step-1']);
    assert.deepEqual(world.events.statuses(task.id), ['running', 'cancelled']);
  });

  it('after a takeover, numbers its events a million past the last persisted one and republishes the recent ones', async () => {
    const { definition } = stepsTask(1);
    const world = engineWorld([definition]);
    const { task, run } = queued(world, 'steps', { status: 'running' });
    for (let i = 0; i < 3; i++)
      await world.events.append(task.id, { type: 'log', level: 'info', message: `e${i}` });
    // The worker that held it died: its lease expired without a release.
    world.checkpoints.seed(task.id, { owner: 'dead-worker', slice: 0, expiresInMs: -1 });
    assert.deepEqual(await run(0, 1, 'worker-a'), ['complete']);
    assert.deepEqual(
      world.published.slice(0, 3).map((e) => e.seq),
      [1, 2, 3],
      'the persisted events are published again first',
    );
    const later = world.events.of(task.id).filter((e) => e.seq > 3);
    assert.ok(later.length > 0 && later.every((e) => e.seq > 1_000_000), 'new events skip past the gap');
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
  });

  it('a worker whose lease was taken mid-step neither ends the task nor sends a continuation', async () => {
    const at: { task?: TaskRow; world?: EngineWorld } = {};
    const { definition } = stepsTask(3, (i) => {
      if (i === 1 && at.task) at.world?.checkpoints.takeOver(at.task.id);
    });
    const world = (at.world = engineWorld([definition]));
    const { task, run } = queued(world);
    at.task = task;
    assert.deepEqual(await run(), ['complete']);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running', 'the new holder carries on');
    assert.deepEqual(world.sent, []);
    assert.deepEqual([...(world.checkpoints.steps.get(task.id)?.keys() ?? [])], ['step-0']);
    assert.ok(world.logs.some((l) => l.includes('lease lost')));
  });

  it('dead-letters a message that is not a task reference, or names no known task, and completes one of a finished task', async () => {
    const { definition } = stepsTask(1);
    const world = engineWorld([definition]);
    const settle = async (body: unknown) => {
      const settlement = world.settlement();
      await runSlice(world.ports, body, { invocationId: 'w', settlement });
      return settlement.outcome;
    };
    assert.deepEqual(await settle('{"nope": true}'), ['deadLetter InvalidTaskMessage']);
    assert.deepEqual(await settle({ taskId: crypto.randomUUID(), slice: 0 }), ['deadLetter UnknownTask']);
    const done = world.tasks.add('steps', { status: 'succeeded' });
    assert.deepEqual(await settle({ taskId: done.id, slice: 0 }), ['complete']);
  });
});
