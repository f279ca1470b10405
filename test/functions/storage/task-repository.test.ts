import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { appServices } from '../../../functions/app/app-services';
import { startAppStack, type AppStack } from '../../support/app-stack';

describe('task repository (Postgres)', () => {
  let stack: AppStack;
  before(async () => {
    stack = await startAppStack();
  });
  after(() => stack.stop());

  async function runningTask(): Promise<string> {
    const { task } = await appServices().tasks.submit({
      owner: 'local',
      type: 'simulate',
      input: { steps: 1 },
      requestHash: randomUUID(),
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    });
    await appServices().repository.markRunning(task.id, 1);
    return task.id;
  }

  const terminalEvents = async (id: string) =>
    (
      await stack.pool.query<{ seq: number; data: unknown }>(
        "SELECT seq::int, data FROM task_events WHERE task_id = $1 AND type = 'status' AND data->>'status' <> 'queued' ORDER BY seq",
        [id],
      )
    ).rows;

  it('finish ends an active task and writes its terminal status event, under the given seq, in one statement', async () => {
    const id = await runningTask();
    const ended = await appServices().repository.finish(
      id,
      'failed',
      { error: { code: 'boom', message: 'it broke' } },
      7,
    );
    assert.ok(ended);
    assert.equal(ended.task.status, 'failed');
    assert.deepEqual(ended.task.error, { code: 'boom', message: 'it broke' });
    assert.deepEqual(ended.event.data, { status: 'failed', error: { code: 'boom', message: 'it broke' } });
    assert.ok(ended.event.at instanceof Date);
    assert.deepEqual(await terminalEvents(id), [
      { seq: 7, data: { status: 'failed', error: { code: 'boom', message: 'it broke' } } },
    ]);
  });

  it('finish of a task that already ended changes nothing and writes no event', async () => {
    const id = await runningTask();
    assert.ok(await appServices().repository.finish(id, 'succeeded', { resultRef: 'results/x.json' }, 5));
    assert.equal(await appServices().repository.finish(id, 'cancelled', {}, 6), undefined);
    const { rows } = await stack.pool.query('SELECT status, result_ref FROM tasks WHERE id = $1', [id]);
    assert.deepEqual(rows[0], { status: 'succeeded', result_ref: 'results/x.json' });
    assert.deepEqual(await terminalEvents(id), [{ seq: 5, data: { status: 'succeeded' } }]);
  });

  it('reads and writes event seqs past 32 bits exactly (a task taken over thousands of times)', async () => {
    const id = await runningTask();
    const events = appServices().taskEvents;
    const big = 2 ** 31 + 5_000_000;
    await events.append(id, { type: 'log', seq: big, level: 'info', message: 'far along' });
    assert.equal(await events.lastSeq(id), big);
    assert.deepEqual(
      (await events.page(id, big - 1, 10)).map((e) => e.seq),
      [big],
    );
    const ended = await appServices().repository.finish(id, 'succeeded', {}, big + 1);
    assert.equal(ended?.event.seq, big + 1);
    assert.equal(await events.lastSeq(id), big + 1);
  });

  it('leaves a task waiting only while no signal of that name is kept, and a signal kept later finds it waiting', async () => {
    const repository = appServices().repository;
    const waiting = { kind: 'signal' as const, name: 'go', until: null };
    const early = await runningTask();
    await repository.deliverSignal(early, undefined, {
      name: 'go',
      payload: {},
      sender: 't',
      idempotencyKey: null,
    });
    assert.equal(await repository.suspend(early, { waiting, wakeAt: null, wakeSlice: 1 }, 2), 'signalled');

    const late = await runningTask();
    const suspended = await repository.suspend(late, { waiting, wakeAt: null, wakeSlice: 1 }, 2);
    assert.ok(typeof suspended === 'object' && suspended.task.status === 'waiting');
    const delivery = await repository.deliverSignal(late, undefined, {
      name: 'go',
      payload: { n: 1 },
      sender: 't',
      idempotencyKey: null,
    });
    assert.equal(delivery.kind, 'stored');
    assert.ok(
      delivery.kind === 'stored' && delivery.task.status === 'waiting' && delivery.task.wakeSlice === 1,
    );
    const again = await repository.deliverSignal(late, undefined, {
      name: 'go',
      payload: { n: 2 },
      sender: 't',
      idempotencyKey: null,
    });
    assert.ok(
      again.kind === 'exists' && (again.signal.payload as { n: number }).n === 1,
      'the first one is kept',
    );
  });

  it('finds a waiting task whose wake-up is overdue, or whose signal came and was not answered', async () => {
    const repository = appServices().repository;
    const signalWait = { kind: 'signal' as const, name: 'go', until: null };
    const signalled = await runningTask();
    await repository.suspend(signalled, { waiting: signalWait, wakeAt: null, wakeSlice: 1 }, 2);
    await repository.deliverSignal(signalled, undefined, {
      name: 'go',
      payload: {},
      sender: 't',
      idempotencyKey: null,
    });
    const unsignalled = await runningTask();
    await repository.suspend(unsignalled, { waiting: signalWait, wakeAt: null, wakeSlice: 1 }, 2);
    const sleeping = await runningTask();
    const sleep = { kind: 'sleep' as const, name: 'nap', until: null };
    await repository.suspend(
      sleeping,
      { waiting: sleep, wakeAt: new Date(Date.now() - 5_000), wakeSlice: 1 },
      2,
    );
    const later = await runningTask();
    await repository.suspend(
      later,
      { waiting: sleep, wakeAt: new Date(Date.now() + 60_000), wakeSlice: 1 },
      2,
    );
    await new Promise((r) => setTimeout(r, 1_100));
    const overdue = (await repository.overdueWaiting(1, 100)).map((t) => t.id);
    assert.ok(overdue.includes(signalled) && overdue.includes(sleeping), JSON.stringify(overdue));
    assert.ok(!overdue.includes(unsignalled) && !overdue.includes(later));
  });
});
