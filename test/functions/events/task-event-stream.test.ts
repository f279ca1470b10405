import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appServices } from '../../../functions/app/app-services';
import { taskJson } from '../../../functions/contract/task-json';
import { eventJson, type EventJson } from '../../../functions/events/event-json';
import { CallerEventStream } from '../../../functions/events/caller-event-stream';
import type { StreamSink } from '../../../functions/events/event-stream-base';
import { TaskEventStream } from '../../../functions/events/task-event-stream';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../local-dev/services/redis';
import { appRedis, startAppStack, type AppStack } from '../../support/app-stack';
import { until } from '../../support/until';
import { isFinished, startWorker, submitSimulate, waitForTask } from '../../support/engine-harness';
import type { LocalHost } from '../../../local-dev/host';
import type { SubscriptionHub } from '../../../functions/events/subscription-hub';

interface Written {
  kind: 'event' | 'comment' | 'retry' | 'close' | 'warn';
  type?: string;
  data?: unknown;
  id?: number;
}

function collectingSink(): { sink: StreamSink; written: Written[] } {
  const written: Written[] = [];
  return {
    written,
    sink: {
      retry: () => written.push({ kind: 'retry' }),
      event: (type, data, id) => written.push({ kind: 'event', type, data, id }),
      comment: (text) => written.push({ kind: 'comment', data: text }),
      close: () => written.push({ kind: 'close' }),
      warn: (message) => written.push({ kind: 'warn', data: message }),
    },
  };
}

describe('task event stream: keep-alive, maximum duration, and a Redis outage', () => {
  let stack: AppStack;
  let redis: RedisServer;
  let worker: LocalHost | undefined;
  before(async () => {
    redis = await startRedis({ port: 0 });
    stack = await startAppStack({ REDIS_URL: redis.url });
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
    await redis.stop().catch(() => undefined);
  });

  /** A stream on the task, not started yet, and what it writes. */
  const create = async (
    id: string,
    timings: { keepAliveMs: number; maxDurationMs: number; pollMs: number },
  ) => {
    const services = appServices();
    const task = await services.tasks.get('local', id);
    assert.ok(task);
    const { sink, written } = collectingSink();
    const store = { tasks: services.repository, events: services.taskEvents };
    const stream = new TaskEventStream(task, undefined, {
      store,
      hub: services.subscriptions,
      taskView: taskJson,
      sink,
      timings,
    });
    return { stream, written };
  };

  const open = async (
    id: string,
    timings: { keepAliveMs: number; maxDurationMs: number; pollMs: number },
  ) => {
    const opened = await create(id, timings);
    await opened.stream.start();
    return opened;
  };

  it('writes keep-alive comments while idle and closes, without end, at the maximum duration', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: it stays queued
    const { written } = await open(id, { keepAliveMs: 150, maxDurationMs: 700, pollMs: 100 });
    await new Promise((r) => setTimeout(r, 900));
    assert.ok(written.filter((w) => w.kind === 'comment' && w.data === 'keep-alive').length >= 2);
    assert.equal(written.at(-1)?.kind, 'close');
    assert.equal(
      written.some((w) => w.type === 'end'),
      false,
      'a time-out is not an end: the client reconnects',
    );
  });

  it('a stream stopped while it was starting (the client left at once) leaves no subscription and writes nothing more', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: it stays queued
    const { stream, written } = await create(id, { keepAliveMs: 50, maxDurationMs: 60_000, pollMs: 50 });
    const starting = stream.start();
    stream.stop();
    await starting;
    assert.equal(appServices().subscriptions.listenerCount(appServices().subscriptions.channels.task(id)), 0);
    const count = written.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(written.length, count, 'no keep-alive or poll runs after the stop');
  });

  /** A caller's stream (GET /api/events) of the 'local' owner, started. */
  const openCallerStream = async (timings: {
    keepAliveMs: number;
    maxDurationMs: number;
    pollMs: number;
  }) => {
    const services = appServices();
    const { sink, written } = collectingSink();
    const store = { tasks: services.repository, events: services.taskEvents };
    const stream = new CallerEventStream('local', {
      store,
      hub: services.subscriptions,
      taskView: taskJson,
      sink,
      timings,
    });
    await stream.start();
    return { stream, written };
  };

  it('a caller stream writes its snapshot before any live event, even one published while it read the snapshot', async () => {
    const services = appServices();
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    const live = eventJson({
      taskId: id,
      seq: 50,
      at: new Date(),
      type: 'status',
      level: null,
      message: null,
      data: { status: 'running' },
    });
    // The snapshot's read is slow, and the event arrives meanwhile.
    const tasks = Object.assign(Object.create(services.repository) as typeof services.repository, {
      unfinished: async (owner: string | undefined, limit: number) => {
        await (
          await appRedis(services)
        ).publish(services.subscriptions.channels.owner('local'), JSON.stringify(live));
        await until(() => services.subscriptions.live, 2_000);
        await new Promise((r) => setTimeout(r, 200));
        return services.repository.unfinished(owner, limit);
      },
    });
    const { sink, written } = collectingSink();
    const stream = new CallerEventStream('local', {
      store: { tasks, events: services.taskEvents },
      hub: services.subscriptions,
      taskView: taskJson,
      sink,
      timings: { keepAliveMs: 15_000, maxDurationMs: 30_000, pollMs: 60_000 },
    });
    await stream.start();
    stream.stop();
    assert.deepEqual(
      written.filter((w) => w.kind !== 'close').map((w) => w.type ?? w.kind),
      ['retry', 'snapshot', 'status'],
    );
    assert.equal((written[2].data as EventJson).seq, 50);
  });

  for (const kind of ['task', 'caller'] as const) {
    it(`a ${kind} stream reads Postgres for what was published while the Redis subscriber reconnected, however short the gap`, async () => {
      const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: nothing else writes its events
      // No poll tick during the test: only the reconnect can make the stream read Postgres.
      const timings = { keepAliveMs: 15_000, maxDurationMs: 30_000, pollMs: 60_000 };
      const { stream, written } = kind === 'task' ? await open(id, timings) : await openCallerStream(timings);
      const hub = appServices().subscriptions;
      let reconnects = 0;
      const stopCounting = hub.onReconnect(() => reconnects++);
      const admin = new Redis(redis.url);
      try {
        // Cut the subscriber's connection and hold every client for a second, so it cannot be back before the event
        // below is recorded (Redis runs one connection's pipelined commands in a row).
        const [[killError, killed]] = (await admin
          .pipeline()
          .call('CLIENT', 'KILL', 'TYPE', 'pubsub')
          .call('CLIENT', 'PAUSE', '1000', 'ALL')
          .exec()) as [Error | null, unknown][];
        assert.ok(!killError && Number(killed) >= 1, 'the subscriber was cut');
        // An event Redis never delivered to this subscriber: persisted, not published.
        const missed = await appServices().taskEvents.append(id, {
          type: 'log',
          level: 'info',
          message: 'published while the subscriber was away',
        });
        assert.ok(await until(() => reconnects > 0, 5_000), 'the subscriber reconnected');
        const got = () =>
          written.some(
            (w) =>
              w.type === 'log' &&
              (w.data as { seq?: number; taskId?: string }).seq === missed.seq &&
              (w.data as { taskId?: string }).taskId === id,
          );
        assert.ok(await until(got, 2_000), 'the stream read the missed event from Postgres');
      } finally {
        stopCounting();
        admin.disconnect();
        stream.stop();
      }
    });
  }

  /**
   * A task stream whose Postgres event reads fail while `failing.now` is set (a Postgres restart, say), on a hub that
   * is live or not and whose reconnect the test triggers; and an event persisted but never published.
   */
  const streamWithFailingReads = async (live: boolean) => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: nothing else writes its events
    const services = appServices();
    const task = await services.tasks.get('local', id);
    assert.ok(task);
    const failing = { now: true };
    const events = new Proxy(services.taskEvents, {
      get(target, prop) {
        if (prop === 'page' && failing.now) return () => Promise.reject(new Error('connection terminated'));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const reconnects: Array<() => void> = [];
    const hub = {
      live,
      channels: services.subscriptions.channels,
      subscribe: () => Promise.resolve(() => undefined),
      onReconnect: (listener: () => void) => (reconnects.push(listener), () => undefined),
    } as unknown as SubscriptionHub;
    const { sink, written } = collectingSink();
    const timings = { keepAliveMs: 15_000, maxDurationMs: 30_000, pollMs: 100 };
    const store = { tasks: services.repository, events };
    const stream = new TaskEventStream(task, undefined, { store, hub, taskView: taskJson, sink, timings });
    await stream.start();
    const missed = await services.taskEvents.append(id, {
      type: 'log',
      level: 'info',
      message: 'not published',
    });
    const delivered = () =>
      written.some((w) => w.type === 'log' && (w.data as { seq?: number }).seq === missed.seq);
    const warned = () => written.find((w) => w.kind === 'warn')?.data;
    return { stream, failing, delivered, warned, reconnect: () => reconnects.forEach((r) => r()) };
  };

  for (const live of [false, true]) {
    it(`logs a failed read from Postgres ${live ? 'after a Redis reconnect' : 'while live delivery is down'}, and delivers what it missed at the next poll`, async () => {
      const { stream, failing, delivered, warned, reconnect } = await streamWithFailingReads(live);
      try {
        // Live: only the reconnect's catch-up reads Postgres; down: every poll does.
        if (live) reconnect();
        assert.ok(await until(() => warned() !== undefined, 2_000), 'the failed read was logged');
        assert.match(String(warned()), /reading missed events from Postgres failed .*connection terminated/);
        assert.equal(delivered(), false);
        failing.now = false;
        assert.ok(await until(delivered, 2_000), 'the next poll delivered the event');
      } finally {
        stream.stop();
      }
    });
  }

  it('says once that it reads Postgres while live delivery is down, and once that live delivery is back', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: it stays queued
    const services = appServices();
    const task = await services.tasks.get('local', id);
    assert.ok(task);
    const hub = {
      live: false,
      channels: services.subscriptions.channels,
      subscribe: async () => () => undefined,
      onReconnect: () => () => undefined,
    };
    const { sink, written } = collectingSink();
    const timings = { keepAliveMs: 15_000, maxDurationMs: 30_000, pollMs: 50 };
    const store = { tasks: services.repository, events: services.taskEvents };
    const stream = new TaskEventStream(task, undefined, {
      store,
      hub: hub as unknown as SubscriptionHub,
      taskView: taskJson,
      sink,
      timings,
    });
    const notices = () =>
      written
        .filter((w) => w.type === 'log')
        .map((w) => (w.data as { data?: { delivery?: string } }).data?.delivery);
    try {
      await stream.start();
      assert.ok(await until(() => notices().length === 1, 2_000), 'the polling notice');
      await new Promise((r) => setTimeout(r, 200)); // four more polls: no second notice
      hub.live = true;
      assert.ok(await until(() => notices().length === 2, 2_000), 'the live notice');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(notices(), ['polling', 'live']);
    } finally {
      stream.stop();
    }
  });

  it('reads Postgres for a persisted event never published when a later live event shows the gap, and keeps order', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 }); // no worker: nothing else writes its events
    const services = appServices();
    const task = await services.tasks.get('local', id);
    assert.ok(task);
    const listeners: Array<(event: EventJson) => void> = [];
    const hub = {
      live: true,
      channels: services.subscriptions.channels,
      subscribe: (_channel: string, listener: (event: EventJson) => void) => (
        listeners.push(listener),
        Promise.resolve(() => undefined)
      ),
      onReconnect: () => () => undefined,
    } as unknown as SubscriptionHub;
    const { sink, written } = collectingSink();
    const timings = { keepAliveMs: 15_000, maxDurationMs: 30_000, pollMs: 60_000 };
    const store = { tasks: services.repository, events: services.taskEvents };
    const stream = new TaskEventStream(task, undefined, { store, hub, taskView: taskJson, sink, timings });
    try {
      await stream.start();
      // A worker's write committed but its answer was lost: persisted, never published. The next event is live.
      const unpublished = await services.taskEvents.append(id, {
        type: 'log',
        level: 'info',
        message: 'lost answer',
      });
      const next = await services.taskEvents.append(id, { type: 'log', level: 'info', message: 'published' });
      for (const listener of listeners) listener(eventJson(next));
      const seqs = () => written.filter((w) => w.type === 'log').map((w) => (w.data as { seq: number }).seq);
      assert.ok(await until(() => seqs().length === 2, 2_000), `both delivered: ${JSON.stringify(seqs())}`);
      assert.deepEqual(seqs(), [unpublished.seq, next.seq]);
    } finally {
      stream.stop();
    }
  });

  it('keeps reporting from Postgres while Redis is down, says so, and the task still succeeds', async () => {
    worker = await startWorker(stack);
    const id = await submitSimulate({ steps: 12, stepMs: 200 });
    const { written } = await open(id, { keepAliveMs: 15_000, maxDurationMs: 60_000, pollMs: 300 });
    await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 2);
    await redis.stop();
    const task = await waitForTask(stack, id, isFinished, 30_000);
    assert.equal(task.status, 'succeeded');
    await new Promise((r) => setTimeout(r, 800));
    const types = written.filter((w) => w.kind === 'event').map((w) => w.type);
    assert.ok(
      written.some(
        (w) => w.type === 'log' && String((w.data as { message: string }).message).includes('unavailable'),
      ),
      'the stream said it fell back to polling',
    );
    assert.equal(types.at(-1), 'end');
    const ids = written.filter((w) => w.id !== undefined && w.type !== 'snapshot').map((w) => w.id as number);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    const { rows } = await stack.pool.query<{ seq: number }>(
      'SELECT seq::int FROM task_events WHERE task_id = $1',
      [id],
    );
    const snapshotId = written.find((w) => w.type === 'snapshot')?.id ?? 0;
    for (const { seq } of rows)
      if (seq > snapshotId) assert.ok(ids.includes(seq), `persisted event ${seq} delivered`);
  });
});
