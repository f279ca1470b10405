import { randomUUID } from 'node:crypto';
import { appServices } from '../functions/app/app-services';
import { RateLimits } from '../functions/auth/rate-limits';
import { RedisEventPublisher } from '../functions/events/redis-event-publisher';
import type { TaskEventRow } from '../functions/model/events';
import type { Lease } from '../functions/storage/checkpoint-store';
import { CONTAINERS } from '../functions/storage/blob-store';

export interface CallCostClientOptions {
  /** Calls of each kind before measuring: enough for V8 to have compiled the hot paths. */
  warmup: number;
  calls: number;
}

/** Where a call is made: by the API on a submit, by the worker on a no-op task, or by the host that triggers it. */
export type CallSide = 'api' | 'worker' | 'host';

export interface CallCost {
  side: CallSide;
  service: 'postgres' | 'redis' | 'blob' | 'table' | 'servicebus';
  call: string;
  /** Why the call is out of the sums of bench/call-cost.ts: a no-op task, or the benchmarks' API, does not make it. */
  outOfSums?: string;
  /** CPU (user + system) of this process per call, and the wall time of each call (one at a time). */
  cpuMs: number;
  wallMs: number;
}

const OWNER = 'call-cost';
const PUBLISH = 'event publish, 2 channels (and a PING to await it)';

/**
 * Each call a submit and a no-op task make, through the app's own adapters, one at a time: CPU and wall time per
 * call in steady state. Runs in a process of its own, so the emulators' CPU (Service Bus runs in the benchmark's
 * process) stays out of its figures.
 */
async function main(options: CallCostClientOptions): Promise<CallCost[]> {
  const s = appServices();
  const redis = s.redis;
  if (!redis) throw new Error('the benchmark measures Redis calls: set REDIS_URL');
  await Promise.all([s.blobs.ensureContainers(), s.checkpoints.ensureTable()]);
  const total = options.warmup + options.calls;
  const ids = Array.from({ length: total }, () => randomUUID());
  const leases: Lease[] = [];
  const events: TaskEventRow[] = [];
  const lastSeqs: number[] = [];
  const payload = Buffer.from(JSON.stringify({ steps: 1, stepMs: 0 }));
  const publisher = new RedisEventPublisher(redis, s.subscriptions.channels, OWNER, (message) => {
    throw new Error(message);
  });
  const receiver = s.serviceBus.createReceiver(s.settings.tasksQueue);
  const results: CallCost[] = [];
  const measure = async (
    side: CallSide,
    service: CallCost['service'],
    call: string,
    one: (id: string, i: number) => Promise<unknown>,
    outOfSums?: string,
  ) => {
    for (let i = 0; i < options.warmup; i++) await one(ids[i], i);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = options.warmup; i < total; i++) await one(ids[i], i);
    const wall = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    results.push({
      side,
      service,
      call,
      outOfSums,
      cpuMs: (user + system) / 1000 / options.calls,
      wallMs: wall / options.calls,
    });
  };

  // The publisher does not wait for Redis: wait for the answer through a command on the same connection.
  const client = await redis();
  const publish = async (event: TaskEventRow) => {
    publisher.publish(event);
    await client.ping();
  };
  // The submit: the caller's rate limit, its Idempotency-Key lookup, the claim-check blob, the row, its `queued`
  // event, the message, and the record that the message left.
  const limits = new RateLimits(
    redis,
    s.settings.redisNamespace,
    { ...s.settings.rateLimits, submits: 1e9 },
    s.log,
  );
  await measure(
    'api',
    'redis',
    'rate limit',
    (id) => limits.admit('submit', id, () => Promise.resolve(false)),
    'on by default, off in the benchmarks',
  );
  await measure('api', 'postgres', 'Idempotency-Key lookup', (id) =>
    s.repository.findByIdempotencyKey(OWNER, id),
  );
  await measure('api', 'blob', 'payload upload', (id) =>
    s.blobs.putJson(CONTAINERS.payloads, `${id}.json`, payload),
  );
  await measure('api', 'postgres', 'task insert', (id) =>
    s.repository.insert({
      id,
      type: 'simulate',
      owner: OWNER,
      idempotencyKey: id,
      requestHash: id,
      inputRef: `${CONTAINERS.payloads}/${id}.json`,
      inputBytes: payload.length,
      traceId: null,
    }),
  );
  await measure('api', 'redis', PUBLISH, async (id, i) => {
    events[i] = {
      taskId: id,
      seq: 1,
      at: new Date(),
      type: 'status',
      level: null,
      message: null,
      data: { status: 'queued' },
    };
    await publish(events[i]);
  });
  await measure('api', 'servicebus', 'message send', (id) =>
    s.queue.send({ taskId: id, slice: 0, attempt: 1 }, { messageId: id }),
  );
  await measure('api', 'postgres', 'mark enqueued', (id) => s.repository.markEnqueued(id));
  // What the Functions host does around each invocation: on Azure a process of its own.
  await measure('host', 'servicebus', 'message receive and complete', async () => {
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    if (!message) throw new Error('no message to receive');
    await receiver.completeMessage(message);
  });
  // The no-op task, in the order the worker makes its calls.
  await measure('worker', 'table', 'lease create', async (id, i) => {
    leases[i] = (await s.checkpoints.acquire(id, 'worker', 60_000, true))!;
  });
  await measure('worker', 'postgres', 'last event seq', async (id, i) => {
    lastSeqs[i] = await s.taskEvents.lastSeq(id);
  });
  await measure('worker', 'postgres', 'mark running', (id) => s.repository.markRunning(id, 1));
  await measure('worker', 'postgres', 'event insert', async (id, i) => {
    events[i] = await s.taskEvents.append(id, {
      type: 'status',
      seq: lastSeqs[i] + 1,
      data: { status: 'running' },
    });
  });
  await measure('worker', 'redis', PUBLISH, (_id, i) => publish(events[i]));
  await measure('worker', 'blob', 'payload download', (id) =>
    s.blobs.getJson(`${CONTAINERS.payloads}/${id}.json`),
  );
  await measure(
    'worker',
    'postgres',
    'cancel check',
    (id) => s.repository.isCancelRequested(id),
    "made before each step but a slice's first",
  );
  await measure('worker', 'table', 'step commit', (_id, i) =>
    s.checkpoints.commitStep(leases[i], 'step-0', null, { startedAt: new Date(), slice: 0, attempt: 1 }),
  );
  await measure('worker', 'blob', 'result upload', (id) =>
    s.blobs.putJson(CONTAINERS.results, `${id}.json`, Buffer.from('null'), true),
  );
  await measure('worker', 'postgres', 'finish with its event', (id, i) =>
    s.repository.finish(id, 'succeeded', { resultRef: `${CONTAINERS.results}/${id}.json` }, lastSeqs[i] + 2),
  );
  await measure('worker', 'table', 'lease release', (_id, i) => s.checkpoints.release(leases[i], 1));
  await receiver.close();
  return results;
}

main(JSON.parse(process.argv[2]) as CallCostClientOptions).then(
  (results) => {
    process.stdout.write(JSON.stringify(results));
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
