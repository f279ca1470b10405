import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteOptions } from '../local-dev/services/azurite';
import { summarizeLatencies, type LatencySummary } from './stats';

type Durability = NonNullable<AzuriteOptions['durability']>;

export interface DurabilityMode {
  durability: Durability;
  /** One upsert at a time, as a worker writes its checkpoints. */
  tableUpserts: { perSecond: number; latency: LatencySummary };
  /** CONCURRENCY upserts in flight (many workers). */
  concurrentTableUpsertsPerSecond: number;
  /** One BLOB_BYTES upload at a time, as a claim-check payload is stored. */
  blobUploads: { perSecond: number; latency: LatencySummary };
  /** Start-up until listening, on the data the run left (with the journal: replaying it over the snapshot). */
  restartMs: number;
}

export interface AzuriteDurabilityBenchResult {
  operations: number;
  concurrency: number;
  blobBytes: number;
  modes: DurabilityMode[];
}

const CONCURRENCY = 16;
const BLOB_BYTES = 4096;

async function timed(count: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

const rate = (count: number, ms: number) => count / (ms / 1000);
const total = (latencies: number[]) => latencies.reduce((a, b) => a + b, 0);

async function benchMode(durability: Durability, operations: number): Promise<DurabilityMode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'longhaul-bench-azurite-'));
  try {
    let azurite = await startAzurite({ dataDir, durability });
    let restartMs: number;
    try {
      const table = TableClient.fromConnectionString(azurite.connectionString, 'checkpoints', {
        allowInsecureConnection: true,
      });
      await table.createTable();
      // Rows are rewritten, as checkpoints are: the table stays small, the journal grows.
      const upsert = (i: number) =>
        table.upsertEntity({
          partitionKey: `task-${i % 50}`,
          rowKey: 'checkpoint',
          step: i,
          cursor: 'x'.repeat(200),
        });
      // A long warm-up: this process's SDK clients are cold for the first mode, which would make it look slower.
      const warmUp = Math.max(100, operations / 4);
      await timed(warmUp, upsert);
      const sequential = await timed(operations, upsert);

      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < operations) await upsert(next++);
        }),
      );
      const concurrentMs = performance.now() - t0;

      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        'payloads',
      );
      await container.create();
      const payload = Buffer.alloc(BLOB_BYTES, 'p');
      const upload = (i: number) => container.getBlockBlobClient(`claim-${i}.json`).uploadData(payload);
      await timed(warmUp, (i) => upload(-1 - i));
      const uploads = await timed(operations, upload);

      // SIGKILL: the restart then has whatever the journal holds since the last snapshot to replay.
      process.kill(azurite.pid, 'SIGKILL');
      await azurite.stop();
      const r0 = performance.now();
      azurite = await startAzurite({ dataDir, durability });
      restartMs = performance.now() - r0;

      return {
        durability,
        tableUpserts: {
          perSecond: rate(operations, total(sequential)),
          latency: summarizeLatencies(sequential),
        },
        concurrentTableUpsertsPerSecond: rate(operations, concurrentMs),
        blobUploads: { perSecond: rate(operations, total(uploads)), latency: summarizeLatencies(uploads) },
        restartMs,
      };
    } finally {
      await azurite.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * What Azurite's write journal costs (local-dev/azurite): table upserts and blob uploads through the SDKs against
 * Azurite as shipped ('autosave'), journalled ('process') and journalled with an fdatasync per write ('power').
 */
export async function benchAzuriteDurability(operations = 2_000): Promise<AzuriteDurabilityBenchResult> {
  const modes: DurabilityMode[] = [];
  for (const durability of ['autosave', 'process', 'power'] as const)
    modes.push(await benchMode(durability, operations));
  return { operations, concurrency: CONCURRENCY, blobBytes: BLOB_BYTES, modes };
}
