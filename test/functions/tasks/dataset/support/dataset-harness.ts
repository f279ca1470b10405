import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { appServices } from '../../../../../functions/app/app-services';
import { submitTask } from '../../../../../functions/app/http/handlers/submit-task';
import { createTableClient } from '../../../../../functions/platform/azure-clients';
import type { DatasetResult } from '../../../../../functions/tasks/dataset/aggregates';
import { analyzeCsv, datasetInput } from '../../../../../functions/tasks/dataset/dataset';
import type { AppStack } from '../../../../support/app-stack';
import { call } from '../../../../support/http';
import { generateCsv, type GeneratedCsv } from './generate-csv';

/** Size of the generated file: small for `npm test`, 200 MB for `npm run test:large`. */
export const DATASET_TEST_MB = Number(process.env.DATASET_TEST_MB ?? 40);
/**
 * The engine test's SLICE_BUDGET_SECONDS: the pass must span at least three slices, and on a fast machine 40 MB take
 * about 2 s.
 */
export const DATASET_TEST_SLICE_SECONDS = Number(process.env.DATASET_TEST_SLICE_SECONDS ?? 0.25);

/** Writes a generated CSV of about `mb` MB to uploads/<name>; returns its reference and what it holds. */
export async function uploadCsv(
  stack: AppStack,
  name: string,
  mb: number,
): Promise<{ ref: string; stats: GeneratedCsv }> {
  await appServices().blobs.ensureContainers();
  const stats: GeneratedCsv = { bytes: 0, rows: 0, malformedLines: [] };
  const blob = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE)
    .getContainerClient('uploads')
    .getBlockBlobClient(name);
  await blob.uploadStream(Readable.from(generateCsv(mb * 1_000_000, stats)), 4 << 20, 4);
  return { ref: `uploads/${name}`, stats };
}

/** Submits a `dataset` task through the real handler; returns its id. */
export async function submitDataset(input: Record<string, unknown>): Promise<string> {
  const res = await call(submitTask, {
    method: 'POST',
    path: '/api/tasks',
    body: { type: 'dataset', input },
  });
  if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${res.text}`);
  return (res.body as { id: string }).id;
}

export async function resultOf(id: string): Promise<unknown> {
  return appServices().blobs.getJson(`results/${id}.json`);
}

/** One uninterrupted pass of the same parser and aggregates over the same blob, in this process, as JSON. */
export async function singlePassOf(input: Record<string, unknown>): Promise<DatasetResult> {
  const parsed = datasetInput.parse(input);
  const { size } = await appServices().blobs.properties(parsed.blob);
  const stream = await appServices().blobs.openRange(parsed.blob, 0);
  const result = await analyzeCsv(stream as AsyncIterable<Buffer>, parsed, size);
  return JSON.parse(JSON.stringify(result)) as DatasetResult;
}

/** The offsets the task said it resumed at, slice after slice. */
export async function resumedAt(stack: AppStack, id: string): Promise<number[]> {
  const { rows } = await stack.pool.query<{ data: { offset: number } }>(
    `SELECT data FROM task_events WHERE task_id = $1 AND type = 'log' AND message LIKE 'resuming at byte %' ORDER BY seq`,
    [id],
  );
  return rows.map((r) => r.data.offset);
}

/** The byte offset of the task's last checkpoint, read from the lease row (and the blob it may point to). */
export async function checkpointedOffset(id: string): Promise<number> {
  const services = appServices();
  const table = createTableClient(services.settings.storage, 'checkpoints');
  for (let attempt = 1; ; attempt++) {
    try {
      const lease = await table
        .getEntity<{ state?: string; stateRef?: string }>(id, 'lease')
        .catch(() => undefined);
      const state = lease?.stateRef
        ? await services.blobs.getJson(lease.stateRef)
        : lease?.state
          ? JSON.parse(lease.state)
          : undefined;
      return (state as { position?: { offset: number } } | undefined)?.position?.offset ?? 0;
    } catch (err) {
      // A large state lives in one blob that the worker rewrites at every checkpoint: a read may catch it mid-write.
      if (attempt === 5) throw err;
    }
  }
}
