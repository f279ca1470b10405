import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatch, messageIds } from '../../../../functions/engine/dispatch';
import { sweep } from '../../../../functions/engine/sweeper';
import { decodeMessage } from '../../../../functions/model/messages';
import { engineWorld } from '../../../support/engine-fakes';

/** The sweeper's decisions and the queue protocol on in-memory ports (no services). */
describe('sweeper and queue protocol on in-memory ports', () => {
  it('re-sends a queued task that never left, re-drives a running one whose lease expired, and leaves a live lease alone', async () => {
    const world = engineWorld([]);
    const unsent = world.tasks.add('steps');
    const heartbeatAt = new Date(Date.now() - 120_000);
    const silent = world.tasks.add('steps', { status: 'running', attempts: 2, heartbeatAt });
    world.checkpoints.seed(silent.id, { owner: 'dead', slice: 3, expiresInMs: -1 });
    const busy = world.tasks.add('steps', { status: 'running', attempts: 1 });
    world.checkpoints.seed(busy.id, { owner: 'alive', slice: 1 });
    await sweep(world.ports);
    assert.deepEqual(
      world.sent.map((s) => [s.message, s.options.messageId]),
      [
        [{ taskId: unsent.id, slice: 0 }, `${unsent.id}:0`],
        [{ taskId: silent.id, slice: 3, attempt: 2 }, `${silent.id}:3:sweep:${heartbeatAt.getTime()}`],
      ],
    );
  });

  it('builds the message ids duplicate detection depends on', () => {
    const at = new Date(1_700_000_000_500);
    assert.equal(messageIds.slice('t', 2), 't:2');
    assert.equal(messageIds.recheck('t', 2, at), 't:2:recheck:1700000000');
    assert.equal(messageIds.sweep('t', 2, at), 't:2:sweep:1700000000500');
    assert.equal(messageIds.sweep('t', 2, null), 't:2:sweep:0');
    assert.equal(messageIds.retry('t', 2, at), 't:2:retry:1700000000500');
    assert.equal(messageIds.webhook('t', 1), 't:webhook:1');
    assert.equal(messageIds.webhookSweep('t', 1, at), 't:webhook:1:sweep:1700000000500');
  });

  it('decodes a body into a slice, a webhook delivery or an invalid message, JSON text included', () => {
    const taskId = crypto.randomUUID();
    assert.deepEqual(decodeMessage({ taskId, slice: 1 }), {
      kind: 'slice',
      message: { taskId, slice: 1, attempt: 1 },
    });
    assert.deepEqual(decodeMessage(JSON.stringify({ taskId, webhook: 2 })), {
      kind: 'webhook',
      message: { taskId, webhook: 2 },
    });
    assert.equal(decodeMessage('not json').kind, 'invalid');
    assert.equal(decodeMessage({ taskId, slice: -1 }).kind, 'invalid');
  });

  it('enqueue leaves a task whose send failed unmarked for the sweeper, and says so', async () => {
    const marked: string[] = [];
    const logs: string[] = [];
    const failing = new Dispatch(
      { send: () => Promise.reject(new Error('ServerBusy')) },
      { markEnqueued: async (id) => void marked.push(id) },
      (level, message) => void logs.push(`${level} ${message}`),
    );
    const task = { id: 't1', traceContext: null, traceId: null };
    assert.equal(await failing.enqueue(task, { taskId: 't1', slice: 0 }, { messageId: 't1:0' }), false);
    assert.equal(marked.length, 0, 'not marked enqueued');
    assert.match(
      logs[0],
      /^warn send to the queue failed or was not recorded, left queued for the sweeper: .*ServerBusy/,
    );
    const working = new Dispatch(
      { send: async () => undefined },
      { markEnqueued: async (id) => void marked.push(id) },
      () => undefined,
    );
    assert.equal(await working.enqueue(task, { taskId: 't1', slice: 0 }, { messageId: 't1:0' }), true);
    assert.deepEqual(marked, ['t1']);
  });
});
