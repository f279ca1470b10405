import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineTask, type TaskContext, type TaskDefinition } from '../../../../functions/engine/define-task';
import { runSlice } from '../../../../functions/engine/run-slice';
import { sweep } from '../../../../functions/engine/sweeper';
import { engineWorld, type EngineWorld } from '../../../support/engine-fakes';

/**
 * The engine's decisions about waits and limits on in-memory ports. The same behaviours run end to end against the
 * real services in ../durable-waits.test.ts.
 */

const go = z.object({ ok: z.boolean() });

function taskOf(type: string, run: (ctx: TaskContext) => Promise<unknown>): TaskDefinition {
  return defineTask({
    type,
    title: type,
    description: type,
    input: z.object({}),
    example: {},
    signals: { go },
    run: (_input, ctx) => run(ctx),
  }) as TaskDefinition;
}

function queued(world: EngineWorld, type: string) {
  const task = world.tasks.add(type);
  world.blobs.set(task.inputRef, {});
  const run = async (slice = 0, attempt = 1) => {
    const settlement = world.settlement();
    await runSlice(
      world.ports,
      { taskId: task.id, slice, attempt },
      { invocationId: `w-${slice}`, settlement },
    );
    return settlement.outcome;
  };
  return { task, run };
}

describe('waits and limits on in-memory ports', () => {
  it('fixes a sleep’s end when it starts: a replay after it returns at once and runs on', async () => {
    const ran: string[] = [];
    const world = engineWorld([
      taskOf('sleeper', async (ctx) => {
        await ctx.sleep('nap', '10s');
        return ctx.step('after', () => ran.push('after'));
      }),
    ]);
    const { task, run } = queued(world, 'sleeper');
    assert.deepEqual(await run(0), ['complete']);
    const row = world.tasks.rows.get(task.id)!;
    assert.equal(row.status, 'waiting');
    const dueAt = world.checkpoints.waits.get(task.id)?.get('nap')?.dueAt;
    assert.ok(dueAt && Math.abs(dueAt.getTime() - Date.now() - 10_000) < 1_000);
    assert.equal(
      world.sent.at(-1)?.options.scheduledAt?.getTime(),
      dueAt.getTime(),
      'woken at the sleep’s end',
    );
    assert.equal(world.sent.at(-1)?.leaseOwnerAtSend, '', 'sent after the lease was released');

    // A wake-up that comes early (a duplicate, a clock ahead) waits again for the same end, not a new one.
    await run(1);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'waiting');
    assert.equal(world.checkpoints.waits.get(task.id)?.get('nap')?.dueAt?.getTime(), dueAt.getTime());

    world.checkpoints.waits.get(task.id)!.get('nap')!.dueAt = new Date(Date.now() - 1);
    await run(2);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
    assert.deepEqual(ran, ['after']);
    assert.deepEqual(world.events.statuses(task.id), [
      'running',
      'waiting',
      'running',
      'waiting',
      'running',
      'succeeded',
    ]);
  });

  it('sleeps the last few seconds in the slice instead of ending it', async () => {
    const world = engineWorld([taskOf('nap', (ctx) => ctx.sleep('short', 50).then(() => 'rested'))]);
    const { task, run } = queued(world, 'nap');
    await run(0);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
    assert.deepEqual(world.events.statuses(task.id), ['running', 'succeeded']);
  });

  it('sees the same signal outcome on every replay, even when the kept signal changes later', async () => {
    const seen: unknown[] = [];
    const world = engineWorld([
      taskOf('waiter', async (ctx) => {
        seen.push(await ctx.waitForEvent('go', { schema: go }));
        await ctx.step('crash-once', () => {
          if (seen.length === 1) throw new Error('worker died');
        });
      }),
    ]);
    const { task, run } = queued(world, 'waiter');
    await run(0);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'waiting');
    world.tasks.addSignal(task.id, 'go', { ok: true });
    await run(1);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running', 'retrying after the step failed');
    world.tasks.signals
      .get(task.id)!
      .set('go', { ...world.tasks.signals.get(task.id)!.get('go')!, payload: { ok: false } });
    await run(2, 2);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
    assert.deepEqual(seen, [{ ok: true }, { ok: true }]);
  });

  it('runs on in the next slice at once when the signal comes while the slice is ending', async () => {
    const world = engineWorld([taskOf('racer', (ctx) => ctx.waitForEvent('go', { schema: go }))]);
    const { task, run } = queued(world, 'racer');
    const suspend = world.tasks.suspend.bind(world.tasks);
    world.tasks.suspend = async (...args) => {
      world.tasks.addSignal(task.id, 'go', { ok: true }); // delivered between the read and the wait
      return suspend(...args);
    };
    await run(0);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running', 'it never waited');
    const last = world.sent.at(-1);
    assert.deepEqual(last?.message, { taskId: task.id, slice: 1, attempt: 1 });
    assert.equal(last?.options.scheduledAt, undefined, 'sent for now');
    await run(1);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'succeeded');
  });

  it('refuses a wait on a signal the type does not declare, with a clear code', async () => {
    const world = engineWorld([taskOf('stray', (ctx) => ctx.waitForEvent('nope'))]);
    const { task, run } = queued(world, 'stray');
    assert.deepEqual(await run(0), ['deadLetter undeclared_signal']);
    assert.match(world.tasks.rows.get(task.id)?.error?.message ?? '', /declares no signal "nope"/);
  });

  it('abandons a step that ignores ctx.signal past the grace period, reports it and refuses its result', async () => {
    let finishStep: () => void = () => undefined;
    const world = engineWorld(
      [
        taskOf('deaf', (ctx) =>
          ctx.step('deaf-step', () => new Promise<string>((resolve) => (finishStep = () => resolve('late')))),
        ),
      ],
      { sliceBudgetSeconds: 0.2, stepAbortGraceSeconds: 0.3 },
    );
    const { task, run } = queued(world, 'deaf');
    const started = Date.now();
    await run(0);
    const took = Date.now() - started;
    assert.ok(took < 2_000, `the slice ended without the step (${took} ms)`);
    assert.ok(world.logs.some((l) => /step "deaf-step" did not stop within 0.3 s of ctx.signal/.test(l)));
    assert.deepEqual(world.sent.at(-1)?.message, { taskId: task.id, slice: 1, attempt: 1 }, 'continues');
    finishStep();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(world.logs.some((l) => /step "deaf-step" finished after its slice gave it up/.test(l)));
    assert.equal(
      world.checkpoints.steps.get(task.id)?.has('deaf-step') ?? false,
      false,
      'its result is not kept',
    );
  });

  it('fails a task whose lease was taken over more than MAX_TAKEOVERS times, and dead-letters its message', async () => {
    const world = engineWorld([taskOf('poison', async () => 'never')], {
      maxTakeovers: 1,
      leaseSeconds: 0.05,
    });
    const { task, run } = queued(world, 'poison');
    world.checkpoints.seed(task.id, { owner: 'dead-1', slice: 0, expiresInMs: -1 });
    world.checkpoints.rows.get(task.id)!.takeovers = 1;
    assert.deepEqual(await run(0), ['deadLetter takeover_limit']);
    assert.equal(world.tasks.rows.get(task.id)?.error?.code, 'takeover_limit');
  });

  it('fails a task the sweeper re-drove more than MAX_TAKEOVERS times, naming the re-drives', async () => {
    const world = engineWorld([taskOf('stalling', async () => 'never')], { maxTakeovers: 2 });
    const task = world.tasks.add('stalling', { status: 'running', redrives: 3, startedAt: new Date() });
    world.blobs.set(task.inputRef, {});
    world.checkpoints.seed(task.id, { owner: '', slice: 4 });
    const settlement = world.settlement();
    await runSlice(world.ports, { taskId: task.id, slice: 4, attempt: 1 }, { invocationId: 'w', settlement });
    assert.deepEqual(settlement.outcome, ['deadLetter takeover_limit']);
    assert.match(world.tasks.rows.get(task.id)?.error?.message ?? '', /re-drove it 3 times/);
  });

  it('has the sweeper send an overdue wake-up of a waiting task for the slice it waits to run', async () => {
    const world = engineWorld([taskOf('idle', async () => 'done')]);
    const task = world.tasks.add('idle', {
      status: 'waiting',
      waiting: { kind: 'sleep', name: 'nap', until: new Date(Date.now() - 120_000).toISOString() },
      wakeAt: new Date(Date.now() - 120_000),
      wakeSlice: 3,
      attempts: 1,
    });
    await sweep(world.ports);
    const wake = world.sent.find((s) => s.message.taskId === task.id);
    assert.deepEqual(wake?.message, { taskId: task.id, slice: 3, attempt: 1 });
    assert.match(wake?.options.messageId ?? '', /:3:sweep:/);
  });

  it('after a crash between releasing the lease and marking the task waiting, a re-drive waits again for the same end', async () => {
    const world = engineWorld([taskOf('sleeper', (ctx) => ctx.sleep('nap', '1h'))]);
    const { task, run } = queued(world, 'sleeper');
    const suspend = world.tasks.suspend.bind(world.tasks);
    world.tasks.suspend = () => Promise.reject(new Error('the worker died here')); // the crash, as its state
    await run(0).catch(() => undefined);
    const dueAt = world.checkpoints.waits.get(task.id)?.get('nap')?.dueAt;
    assert.equal(world.tasks.rows.get(task.id)?.status, 'running', 'left running, its lease free');
    assert.equal(world.sent.length, 0, 'no wake-up was sent');
    world.tasks.suspend = suspend;
    await sweep(world.ports);
    const redrive = world.sent.find((m) => m.message.taskId === task.id);
    assert.deepEqual(redrive?.message, { taskId: task.id, slice: 1, attempt: 1 });
    await run(1);
    assert.equal(world.tasks.rows.get(task.id)?.status, 'waiting');
    assert.equal(
      world.tasks.rows.get(task.id)?.wakeAt?.getTime(),
      dueAt?.getTime(),
      'the same end, not a new hour',
    );
  });
});
