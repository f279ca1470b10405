import { join } from 'node:path';
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import type { EndToEndDriver } from './end-to-end-client';
import { startChild, type StartedChild } from './processes';

/** BullMQ's connection options for a redis:// URL (BullMQ's blocking commands need maxRetriesPerRequest: null). */
export function bullmqConnection(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/** BullMQ worker processes, each running the no-op job at the given concurrency. */
export function startBullmqWorkers(
  count: number,
  redisUrl: string,
  queue: string,
  concurrency: number,
): Promise<StartedChild[]> {
  const script = join(__dirname, 'bullmq-worker.js');
  return Promise.all(
    Array.from({ length: count }, () => startChild(script, [redisUrl, queue, String(concurrency)])),
  );
}

/**
 * The baseline's client side: `Queue.add`, and `QueueEvents` (one Redis stream reader for every job, BullMQ's only way
 * to learn that a job finished without polling) for `completed`.
 */
export async function bullmqDriver(redisUrl: string, queueName: string): Promise<EndToEndDriver> {
  const connection = bullmqConnection(redisUrl);
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.resolve();
    waiting.delete(jobId);
  });
  events.on('failed', ({ jobId, failedReason }) => {
    waiting.get(jobId)?.reject(new Error(`job ${jobId} failed: ${failedReason}`));
    waiting.delete(jobId);
  });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const submit = async (): Promise<{ ended: Promise<void> }> => {
    // Registered before the add resolves: the job may complete before this process hears the add's reply.
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    const ended = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const id = `${queueName}-${Math.random().toString(36).slice(2)}`;
    waiting.set(id, settle);
    await queue.add('noop', {}, { jobId: id });
    return { ended };
  };
  return {
    roundTrip: async () => (await submit()).ended,
    submit,
    close: async () => {
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}
