import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LonghaulClient, LonghaulError, type WatchItem } from '../../client/longhaul-client';
import type { LocalHost } from '../../local-dev/host';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost } from '../support/engine-harness';

describe('the typed client against the local host', () => {
  let stack: AppStack;
  let host: LocalHost;
  let client: LonghaulClient;
  before(async () => {
    // Streams close after 2 s, so watch() must reconnect with Last-Event-ID to see the task through.
    ({ stack, host } = await startAppOnLocalHost({ SSE_MAX_SECONDS: '2' }));
    client = new LonghaulClient({ baseUrl: host.url });
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  it('submits, reads, lists and fetches the result', async () => {
    const task = await client.submit('simulate', { steps: 2, stepMs: 10 }, { idempotencyKey: 'client-1' });
    assert.equal(task.status, 'queued');
    assert.equal((await client.get(task.id)).id, task.id);
    assert.ok((await client.list({ limit: 5 })).items.some((t) => t.id === task.id));
    for await (const item of client.watch(task.id))
      if (item.kind === 'end') assert.equal(item.status, 'succeeded');
    assert.deepEqual(await client.result(task.id), {
      steps: 2,
      executions: { 'step-0': 1, 'step-1': 1 },
      totalExecutions: 2,
    });
  });

  it('turns problem responses into LonghaulError with the field at fault', async () => {
    await assert.rejects(client.submit('simulate', { steps: 0 }), (err: unknown) => {
      assert.ok(err instanceof LonghaulError);
      assert.equal(err.problem.status, 422);
      assert.equal(err.problem.field, 'input.steps');
      return true;
    });
    await assert.rejects(client.get('00000000-0000-4000-8000-000000000000'), /404/);
  });

  it('watch() reconnects across server-closed streams and yields every persisted event once, in order', async () => {
    const task = await client.submit('simulate', { steps: 25, stepMs: 200 });
    const items: WatchItem[] = [];
    for await (const item of client.watch(task.id, { retryMs: 100 })) items.push(item);
    const snapshots = items.filter((i) => i.kind === 'snapshot').length;
    assert.ok(snapshots >= 2, `reconnected ${snapshots - 1} time(s)`);
    assert.deepEqual(items.at(-1), { kind: 'end', status: 'succeeded' });
    const seqs = items.flatMap((i) => (i.kind === 'event' ? [i.event.seq] : []));
    assert.deepEqual(
      seqs,
      [...new Set(seqs)].sort((a, b) => a - b),
      'each once, in order',
    );
    // The first snapshot stands for every event up to its seq (the worker may have written `running` before the
    // stream opened); every persisted event after it must come as an event.
    const first = items.find((i) => i.kind === 'snapshot');
    const { rows } = await stack.pool.query<{ seq: number }>(
      'SELECT seq::int FROM task_events WHERE task_id = $1 AND seq > $2',
      [task.id, first?.kind === 'snapshot' ? first.seq : 0],
    );
    assert.ok(rows.length > 0);
    for (const { seq } of rows) assert.ok(seqs.includes(seq), `persisted event ${seq} seen`);
  });

  it('cancels', async () => {
    const task = await client.submit('simulate', { steps: 100, stepMs: 100 });
    const cancelled = await client.cancel(task.id);
    assert.equal(cancelled.cancelRequested, true);
  });
});
