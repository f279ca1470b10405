import { z } from 'zod';
import { CONTAINERS, type BlobStore } from '../../storage/blob-store';
import { defineTask, PermanentError, type TaskContext } from '../../engine/define-task';
import {
  DatasetAggregates,
  type AggregateOptions,
  type AggregatesState,
  type DatasetResult,
} from './aggregates';
import { CsvReader, START, type CsvPosition, type CsvReadOptions } from './csv-chunks';

const MiB = 1024 * 1024;
const UPLOADS = `${CONTAINERS.uploads}/`;

/**
 * A blob name in the uploads container. "." and ".." segments (and "%", which could encode them) are refused: URL
 * normalization would resolve them and reach another container.
 */
function isUploadRef(ref: string): boolean {
  const name = ref.slice(UPLOADS.length);
  return (
    ref.startsWith(UPLOADS) &&
    // eslint-disable-next-line no-control-regex
    !/[%\\\u0000-\u001f\u007f]/.test(name) &&
    name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

const columnName = z.string().min(1).max(256);

export const datasetInput = z
  .object({
    blob: z
      .string()
      .max(1024)
      .startsWith(UPLOADS)
      .refine(isUploadRef, { message: 'must name a blob in the uploads container: "uploads/<name>"' })
      .describe('The CSV file: "uploads/<name>".'),
    delimiter: z
      .string()
      .min(1)
      .max(4)
      .refine((d) => !/["\r\n]/.test(d), { message: 'must not contain a quote or a line break' })
      .default(',')
      .describe('Field delimiter.'),
    header: z
      .boolean()
      .default(true)
      .describe('Whether the first record names the columns (else column1, column2, …).'),
    columns: z
      .array(columnName)
      .min(1)
      .max(1_000)
      .optional()
      .describe('Columns to describe; all when absent.'),
    groupBy: z
      .object({
        keys: z.array(columnName).min(1).max(8).describe('Columns whose values form the group key.'),
        sum: z.array(columnName).max(32).default([]).describe('Numeric columns to sum per group.'),
        maxGroups: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(10_000)
          .describe('More distinct keys than this fails the task.'),
      })
      .strict()
      .optional()
      .describe('Sums of numeric columns per distinct key.'),
    topValues: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(10)
      .describe('Most frequent values to report per column.'),
    maxMalformedSamples: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(20)
      .describe('Malformed rows to report with their line (all are counted).'),
    checkpointBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * MiB)
      .default(4 * MiB)
      .describe('Bytes read between two checkpoints.'),
    maxRecordBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * MiB)
      .default(8 * MiB)
      .describe('A longer record (a quote left open) fails the task.'),
  })
  .strict();

export type DatasetInput = z.output<typeof datasetInput>;

/** The part of the Blob store the task reads through. */
export type CsvBlobs = Pick<BlobStore, 'properties' | 'openRange'>;

/** What `ctx.checkpoint` keeps: the blob version, where the pass stands, and the aggregates up to there. */
interface DatasetCheckpoint {
  etag: string;
  position: CsvPosition;
  aggregates: AggregatesState;
}

const aggregateOptions = (input: DatasetInput): AggregateOptions => ({
  header: input.header,
  columns: input.columns,
  groupBy: input.groupBy,
  topValues: input.topValues,
  maxMalformedSamples: input.maxMalformedSamples,
});

const readOptions = (input: DatasetInput): CsvReadOptions => ({
  delimiter: input.delimiter,
  maxRecordBytes: input.maxRecordBytes,
});

/** The statistics of one uninterrupted pass, without the engine: the reference the task must match exactly. */
export async function analyzeCsv(
  source: AsyncIterable<Buffer>,
  input: DatasetInput,
  bytes: number,
): Promise<DatasetResult> {
  const aggregates = new DatasetAggregates(aggregateOptions(input));
  const reader = new CsvReader(START, readOptions(input), aggregates);
  try {
    for await (const chunk of source) await reader.write(chunk);
    await reader.end();
  } finally {
    reader.close();
  }
  return aggregates.result(bytes);
}

/**
 * The `dataset` task: per-column statistics and group-by sums over a CSV of any size in Blob storage. It reads the
 * blob from the checkpointed offset to the end in one ranged download, checkpoints the offset (always just after a
 * complete record) and the aggregates every `checkpointBytes` and when the slice ends, and so never reads a byte twice
 * except those after the last checkpoint of a worker that died.
 */
export function datasetTask(blobs: CsvBlobs, limits: { maxBytes: number }) {
  return defineTask({
    type: 'dataset',
    title: 'Dataset statistics',
    description:
      'Per-column statistics (count, nulls, min, max, mean, standard deviation, approximate distinct count, top values) and optional group-by sums over a CSV in the uploads container, streamed and checkpointed so that any size works. Malformed rows are counted and sampled, not fatal.',
    input: datasetInput,
    example: { blob: 'uploads/sales.csv', groupBy: { keys: ['region'], sum: ['amount'] } },
    run: (input, ctx) => runDataset(blobs, limits, input, ctx),
  });
}

async function runDataset(
  blobs: CsvBlobs,
  limits: { maxBytes: number },
  input: DatasetInput,
  ctx: TaskContext,
): Promise<DatasetResult> {
  const { size, etag } = await fileOf(blobs, input.blob);
  // An upload URL cannot cap what is written through it: the size asked for is checked again here.
  if (size > limits.maxBytes) {
    throw new PermanentError(
      `${input.blob} is ${size} bytes, over MAX_UPLOAD_BYTES (${limits.maxBytes})`,
      'blob_too_large',
    );
  }
  const resumed = ctx.state as DatasetCheckpoint | undefined;
  if (resumed && resumed.etag !== etag) throw changed(input.blob);
  const aggregates = resumed
    ? DatasetAggregates.fromJSON(aggregateOptions(input), resumed.aggregates)
    : new DatasetAggregates(aggregateOptions(input));
  const start = resumed?.position ?? START;
  if (resumed) {
    ctx.log('info', `resuming at byte ${start.offset} of ${size}`, {
      offset: start.offset,
      line: start.line,
    });
  }
  const reader = new CsvReader(start, readOptions(input), aggregates);
  let saved = start.offset;
  let saving: Promise<void> = Promise.resolve();
  let saveFailure: unknown;
  const settle = async () => {
    await saving;
    if (saveFailure !== undefined) throw saveFailure;
  };
  // The snapshot is taken at once, in step with `position`; it is written while the pass reads on, one checkpoint
  // at a time, and a failed write surfaces at the next checkpoint or at the end.
  const save = async (position: CsvPosition) => {
    await settle();
    const checkpoint: DatasetCheckpoint = { etag, position, aggregates: aggregates.toJSON() };
    saved = position.offset;
    saving = ctx.checkpoint(checkpoint).catch((err: unknown) => {
      saveFailure = err;
    });
  };
  const progress = (done: number) =>
    ctx.progress({
      current: done,
      total: size,
      percent: size === 0 ? 100 : Math.floor((done * 100) / size),
      message: `${(done / MiB).toFixed(1)} of ${(size / MiB).toFixed(1)} MiB`,
    });
  try {
    if (start.offset < size) {
      const source = await blobs.openRange(input.blob, start.offset, { ifMatch: etag, signal: ctx.signal });
      // No encoding is set on the download, so its chunks are Buffers.
      for await (const chunk of source as AsyncIterable<Buffer>) {
        await reader.write(chunk);
        const position = reader.position;
        progress(position.offset);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (position.offset - saved >= input.checkpointBytes) await save(position);
      }
    }
    await reader.end();
    await settle();
  } catch (err) {
    // The slice budget is spent, or the task was cancelled: keep what this slice read (unless a record broke off).
    if (ctx.signal.aborted && !reader.failed && reader.position.offset > saved) {
      await save(reader.position);
      await settle();
    }
    if (statusOf(err) === 412) throw changed(input.blob);
    throw err;
  } finally {
    reader.close();
  }
  progress(size);
  return aggregates.result(size);
}

async function fileOf(blobs: CsvBlobs, ref: string): Promise<{ size: number; etag: string }> {
  try {
    return await blobs.properties(ref);
  } catch (err) {
    if (statusOf(err) === 404) throw new PermanentError(`${ref} does not exist`, 'blob_not_found');
    throw err;
  }
}

const changed = (ref: string) =>
  new PermanentError(`${ref} changed while it was being read; submit the task again`, 'blob_changed');

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}
