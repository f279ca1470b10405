import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { setTimeout as sleep } from 'node:timers/promises';
import { appServices, closeAppServices } from '../functions/app/app-services';
import { analyzeCsv, datasetInput } from '../functions/tasks/dataset/dataset';
import { triggers } from '../functions/app/triggers';
import { startLocalHost } from '../local-dev/host';
import { findRepoRoot } from '../local-dev/services/repo-root';
// The test fixtures: the same generated file the tests check, and the catalog entry until app-services has it.
import { generateCsv, type GeneratedCsv } from '../test/functions/tasks/dataset/support/generate-csv';
import { startBenchStack, submitTask } from './bench-stack';

export interface DatasetBenchResult {
  megabytes: number;
  bytes: number;
  rows: number;
  checkpointMiB: number;
  /** Submit to succeeded, through queue, lease, checkpoints and events (the worker runs in this process). */
  engineSeconds: number[];
  engineSlices: number;
  /** The same parser and aggregates over the same blob stream, in this process, no engine. */
  bareSeconds: number[];
  /** Best engine MB/s, best bare MB/s: the machine is shared, and noise only ever adds time. */
  engineMBps: number;
  bareMBps: number;
  /** Engine MB/s over bare MB/s (aim: at least 0.85). */
  ratio: number;
}

const MB = 1_000_000;

/**
 * Throughput of the `dataset` task through the engine (a worker on the local host, default slice budget, a
 * checkpoint every 4 MiB) against a bare single pass of the same parser and aggregates over the same blob, in the
 * same run. Bare and engine passes alternate, twice each, so neither gets the warmer JIT or a quieter machine alone.
 */
export async function benchDataset(
  megabytes = Number(process.env.DATASET_BENCH_MB ?? 200),
): Promise<DatasetBenchResult> {
  const stack = await startBenchStack();
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
  const worker = await startLocalHost({
    triggers: triggers.filter((t) => t.kind === 'serviceBus'),
    port: 0,
    settings: stack.settings,
    hostJson,
    log: () => undefined,
  });
  try {
    const services = appServices();
    await services.blobs.ensureContainers();
    const stats: GeneratedCsv = { bytes: 0, rows: 0, malformedLines: [] };
    await BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE)
      .getContainerClient('uploads')
      .getBlockBlobClient('bench.csv')
      .uploadStream(Readable.from(generateCsv(megabytes * MB, stats)), 4 << 20, 4);
    const input = datasetInput.parse({
      blob: 'uploads/bench.csv',
      groupBy: { keys: ['region', 'flag'], sum: ['amount', 'quantity'] },
    });

    const timed = async (pass: () => Promise<void>) => {
      const started = performance.now();
      await pass();
      return (performance.now() - started) / 1000;
    };
    const bare = () =>
      timed(async () => {
        const stream = await services.blobs.openRange(input.blob, 0);
        await analyzeCsv(stream as AsyncIterable<Buffer>, input, stats.bytes);
      });
    let engineSlices = 0;
    const engine = () =>
      timed(async () => {
        const task = await submitTask('dataset', input);
        for (;;) {
          await sleep(100);
          const row = await services.repository.find(task.id);
          if (row?.status === 'failed') throw new Error(`dataset task failed: ${JSON.stringify(row.error)}`);
          if (row?.status === 'succeeded') break;
        }
        engineSlices = (await services.checkpoints.leaseState(task.id)).nextSlice;
      });
    const bareSeconds: number[] = [];
    const engineSeconds: number[] = [];
    for (let round = 0; round < 2; round++) {
      bareSeconds.push(await bare());
      engineSeconds.push(await engine());
    }
    const mbps = (seconds: number[]) => stats.bytes / MB / Math.min(...seconds);
    return {
      megabytes,
      bytes: stats.bytes,
      rows: stats.rows,
      checkpointMiB: input.checkpointBytes / (1 << 20),
      engineSeconds,
      engineSlices,
      bareSeconds,
      engineMBps: mbps(engineSeconds),
      bareMBps: mbps(bareSeconds),
      ratio: mbps(engineSeconds) / mbps(bareSeconds),
    };
  } finally {
    await worker.close();
    await closeAppServices();
    await stack.stop();
  }
}
