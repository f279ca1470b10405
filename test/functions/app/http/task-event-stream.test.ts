import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventSource } from 'eventsource';
import { appServices } from '../../../../functions/app/app-services';
import type { LocalHost } from '../../../../local-dev/host';
import { appRedis, type AppStack } from '../../../support/app-stack';
import {
  isFinished,
  startAppOnLocalHost,
  submitSimulate,
  waitForTask,
} from '../../../support/engine-harness';
import { readSse, readSseFromSnapshot, type SseMessage } from '../../../support/sse-client';

const seqs = (messages: SseMessage[]) =>
  messages.filter((m) => m.id !== undefined && m.event !== 'snapshot').map((m) => Number(m.id));

describe('GET /api/tasks/{id}/events as Server-Sent Events', () => {
  let stack: AppStack;
  let host: LocalHost;
  let api: string;
  before(async () => {
    // A short heartbeat, so the hung task of one test notices its cancellation quickly.
    ({ stack, host } = await startAppOnLocalHost({ HEARTBEAT_SECONDS: '1', LEASE_SECONDS: '3' }));
    api = `${host.url}/api`;
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  it('writes retry, the snapshot first, live events in seq order, the terminal status, end, then closes', async () => {
    const id = await submitSimulate({ steps: 8, stepMs: 120 });
    const read = await readSse(`${api}/tasks/${id}/events`);
    assert.equal(read.status, 200);
    assert.match(read.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(read.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(read.headers.get('x-accel-buffering'), 'no');
    const [retry, snapshot] = read.messages;
    assert.deepEqual(retry, { event: 'retry', data: '2000' });
    assert.equal(snapshot.event, 'snapshot');
    assert.equal((JSON.parse(snapshot.data) as { id: string }).id, id);
    const ids = seqs(read.messages);
    assert.ok(ids.length > 3, `live events arrived: ${ids.join(',')}`);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'strictly increasing',
    );
    assert.equal(new Set(ids).size, ids.length, 'none twice');
    const tail = read.messages.slice(-2);
    assert.equal(tail[0].event, 'status');
    assert.equal((JSON.parse(tail[0].data) as { status: string }).status, 'succeeded');
    assert.deepEqual(tail[1], { event: 'end', data: '{"status":"succeeded"}' });
    assert.equal(read.closedByServer, true);
    const progress = read.messages
      .filter((m) => m.event === 'progress')
      .map((m) => JSON.parse(m.data) as { current: number });
    assert.ok(progress.length >= 4, 'progress streams live');
  });

  it('misses no persisted event and repeats none across a reconnect with Last-Event-ID', async () => {
    const id = await submitSimulate({ steps: 12, stepMs: 100 });
    const first = await readSse(`${api}/tasks/${id}/events`, { until: (m) => seqs(m).length >= 3 });
    const lastId = seqs(first.messages).at(-1);
    assert.ok(lastId);
    await new Promise((r) => setTimeout(r, 400)); // events happen while disconnected
    const second = await readSse(`${api}/tasks/${id}/events`, {
      headers: { 'last-event-id': String(lastId) },
    });
    assert.equal(second.messages[1].event, 'snapshot');
    assert.equal(second.messages.at(-1)?.event, 'end');
    const seen = [...seqs(first.messages), ...seqs(second.messages)];
    assert.equal(new Set(seen).size, seen.length, 'no event twice');
    const { rows } = await stack.pool.query<{ seq: number }>(
      'SELECT seq::int FROM task_events WHERE task_id = $1',
      [id],
    );
    // The first snapshot stands for every event up to its id (`status: queued` at least).
    const coveredBySnapshot = Number(first.messages[1].id);
    assert.ok(coveredBySnapshot >= 1);
    for (const { seq } of rows) {
      assert.ok(seq <= coveredBySnapshot || seen.includes(seq), `persisted event ${seq} was delivered`);
    }
  });

  it('ends a finished task at once: snapshot, end, close; ?lastEventId= replays what came after', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 0 });
    await waitForTask(stack, id, isFinished);
    const plain = await readSse(`${api}/tasks/${id}/events`);
    assert.deepEqual(
      plain.messages.map((m) => m.event),
      ['retry', 'snapshot', 'end'],
    );
    const replay = await readSse(`${api}/tasks/${id}/events?lastEventId=0`);
    const { rows } = await stack.pool.query<{ seq: number }>(
      'SELECT seq::int FROM task_events WHERE task_id = $1 ORDER BY seq',
      [id],
    );
    assert.deepEqual(
      seqs(replay.messages),
      rows.map((r) => r.seq),
      'the whole persisted history, in order',
    );
    assert.equal(replay.messages.at(-1)?.event, 'end');
  });

  it('answers an unknown task with a 404 problem, not a stream, and a bad Last-Event-ID with 400', async () => {
    const res = await fetch(`${api}/tasks/00000000-0000-4000-8000-000000000000/events`, {
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    const bad = await fetch(`${api}/tasks/${id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': 'x' },
    });
    assert.equal(bad.status, 400);
  });

  it('works with a real EventSource client until end', async () => {
    const id = await submitSimulate({ steps: 4, stepMs: 50 });
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const source = new EventSource(`${api}/tasks/${id}/events`);
      for (const type of ['snapshot', 'status', 'progress'])
        source.addEventListener(type, () => events.push(type));
      source.addEventListener('end', () => {
        source.close();
        resolve();
      });
      source.onerror = (err) => {
        source.close();
        reject(new Error(`EventSource error: ${String(err.message)}`));
      };
    });
    assert.equal(events[0], 'snapshot');
    assert.ok(events.includes('status'));
  });

  it('serves 200 concurrent streams on one task from one Redis subscription', async () => {
    const id = await submitSimulate({ steps: 30, stepMs: 100 });
    const reads = Array.from({ length: 200 }, () =>
      readSse(`${api}/tasks/${id}/events`, { timeoutMs: 30_000 }),
    );
    const hub = appServices().subscriptions;
    const channel = hub.channels.task(id);
    const deadline = Date.now() + 10_000;
    while (hub.listenerCount(channel) < 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(hub.listenerCount(channel), 200, 'every stream listens');
    const redis = await appRedis(appServices());
    const [, subscribers] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    assert.equal(Number(subscribers), 1, 'one Redis subscription for all of them');
    const results = await Promise.all(reads);
    assert.ok(
      results.every(
        (r) => r.messages.some((m) => m.event === 'progress') && r.messages.at(-1)?.event === 'end',
      ),
    );
    assert.equal(hub.listenerCount(channel), 0, 'the subscription is released when the streams end');
    await waitForTask(stack, id, isFinished, 20_000);
  });

  it('GET /api/events carries every task of the caller on one stream, after a snapshot of the unfinished ones', async () => {
    const hung = await submitSimulate({ steps: 2, stepMs: 0, hangAtStep: 0 });
    await waitForTask(stack, hung, (t) => t.status === 'running');
    const ids: string[] = [];
    const succeeded = (m: SseMessage[]) =>
      new Set(
        m
          .filter((x) => x.event === 'status')
          .map((x) => JSON.parse(x.data) as { taskId: string; status: string })
          .filter((e) => e.status === 'succeeded')
          .map((e) => e.taskId),
      );
    const caller = readSseFromSnapshot(`${api}/events`, {
      until: (m) => ids.length === 2 && ids.every((id) => succeeded(m).has(id)),
      timeoutMs: 20_000,
    });
    await caller.snapshot;
    ids.push(await submitSimulate({ steps: 3, stepMs: 50 }), await submitSimulate({ steps: 3, stepMs: 50 }));
    const result = await caller.read;
    await fetch(`${api}/tasks/${hung}`, { method: 'DELETE' });
    assert.equal((await waitForTask(stack, hung, isFinished, 10_000)).status, 'cancelled');

    assert.deepEqual(
      result.messages.slice(0, 2).map((m) => m.event),
      ['retry', 'snapshot'],
    );
    const snapshot = JSON.parse(result.messages[1].data) as { tasks: Array<{ id: string; status: string }> };
    assert.ok(
      snapshot.tasks.some((t) => t.id === hung && t.status === 'running'),
      'the running task is in the snapshot',
    );
    assert.ok(snapshot.tasks.every((t) => ['queued', 'running'].includes(t.status)));
    assert.ok(
      result.messages.every((m) => m.id === undefined),
      'no ids: a reconnect gets a fresh snapshot',
    );
    assert.deepEqual(
      [...succeeded(result.messages)].sort(),
      [...ids].sort(),
      'both tasks ended on the one stream',
    );
  });

  it('GET /api/events without the SSE Accept header is 406', async () => {
    const res = await fetch(`${api}/events`);
    assert.equal(res.status, 406);
  });
});
