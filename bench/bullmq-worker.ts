import { Worker } from 'bullmq';
import { bullmqConnection } from './bullmq-baseline';

/**
 * One BullMQ worker process for the end-to-end baseline: the same no-op as Longhaul's one-step `simulate` (one
 * progress report, then done), at the concurrency a Longhaul worker instance runs (host.json maxConcurrentCalls).
 * Usage: `node bullmq-worker.js <redis-url> <queue> <concurrency>`; prints "ready" once connected.
 */
async function main(): Promise<void> {
  const [redisUrl, queue, concurrency] = process.argv.slice(2);
  const worker = new Worker(
    queue,
    async (job) => {
      await job.updateProgress(100);
      return { ok: true };
    },
    { connection: bullmqConnection(redisUrl), concurrency: Number(concurrency) },
  );
  await worker.waitUntilReady();
  console.log('ready');
  process.once('SIGTERM', () => void worker.close().finally(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
