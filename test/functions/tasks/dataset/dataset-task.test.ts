import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { PermanentError, type TaskContext } from '../../../../functions/engine/define-task';
import type { DatasetResult } from '../../../../functions/tasks/dataset/aggregates';
import {
  analyzeCsv,
  datasetInput,
  datasetTask,
  type CsvBlobs,
  type DatasetInput,
} from '../../../../functions/tasks/dataset/dataset';
import { generateCsv, type GeneratedCsv } from './support/generate-csv';

/** A blob served in chunks of an odd size, so records and characters are cut anywhere. */
function blobsOf(bytes: Buffer, etag = 'v1', chunk = 10_007): CsvBlobs & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    properties: async () => ({ size: bytes.length, etag }),
    openRange: async (_ref, offset) => {
      reads.push(offset);
      const rest = bytes.subarray(offset);
      return Readable.from(
        Array.from({ length: Math.ceil(rest.length / chunk) }, (_, i) =>
          rest.subarray(i * chunk, (i + 1) * chunk),
        ),
      );
    },
  };
}

class Crash extends Error {}

interface Slices {
  result: DatasetResult;
  slices: number;
  /** Offsets of the checkpoints, in order. */
  checkpoints: number[];
  /** Where each slice after the first said it resumed, and the last checkpoint before it. */
  resumes: Array<{ at: number; lastCheckpoint: number }>;
}

/**
 * Runs the task the way the engine does, slice after slice, each slice stopping after `chunksPerSlice` chunks: by
 * aborting ctx.signal (a spent slice budget) or, with `crash`, by dying without a word (state as last checkpointed).
 */
async function runInSlices(
  blobs: CsvBlobs,
  input: DatasetInput,
  chunksPerSlice: number,
  crash = false,
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<Slices> {
  const task = datasetTask(blobs, { maxBytes });
  let state: unknown;
  const checkpoints: number[] = [];
  const resumes: Slices['resumes'] = [];
  for (let slice = 1; slice < 10_000; slice++) {
    const abort = new AbortController();
    let chunks = 0;
    const ctx: TaskContext = {
      taskId: 'test',
      attempt: 1,
      signal: abort.signal,
      get state() {
        return state;
      },
      checkpoint: async (s) => {
        // Through JSON, as the engine stores it.
        state = JSON.parse(JSON.stringify(s));
        checkpoints.push((s as { position: { offset: number } }).position.offset);
      },
      progress: () => {
        if (++chunks < chunksPerSlice) return;
        if (crash) throw new Crash();
        abort.abort(new Error('slice budget spent'));
      },
      // The dataset task neither waits nor sleeps.
      sleep: () => Promise.reject(new Error('not used')),
      waitForEvent: () => Promise.reject(new Error('not used')),
      signalUrl: () => Promise.reject(new Error('not used')),
      log: (_level, _message, data) => {
        resumes.push({ at: (data as { offset: number }).offset, lastCheckpoint: checkpoints.at(-1) ?? 0 });
      },
      step: () => Promise.reject(new Error('the dataset task uses no steps')),
    };
    try {
      return { result: await task.run(input, ctx), slices: slice, checkpoints, resumes };
    } catch (err) {
      if (!(err instanceof Crash) && !abort.signal.aborted) throw err;
    }
  }
  throw new Error('never finished');
}

const singlePass = (bytes: Buffer, input: DatasetInput) =>
  analyzeCsv(Readable.from([bytes.subarray(0, 1_000), bytes.subarray(1_000)]), input, bytes.length);

describe('dataset task (resumable pass over a CSV)', () => {
  const stats: GeneratedCsv = { bytes: 0, rows: 0, malformedLines: [] };
  const bytes = Buffer.concat([
    ...generateCsv(1_500_000, stats, { malformedEvery: 400, chunkBytes: 100_000 }),
  ]);
  const input = datasetInput.parse({
    blob: 'uploads/sales.csv',
    checkpointBytes: 65_536,
    groupBy: { keys: ['region', 'flag'], sum: ['amount', 'quantity'] },
    topValues: 5,
    maxMalformedSamples: 5,
  });

  it('accepts blobs of the uploads container only', () => {
    for (const blob of ['uploads/a.csv', 'uploads/dir/b c.csv', 'uploads/日本.csv']) {
      assert.ok(datasetInput.safeParse({ blob }).success, blob);
    }
    for (const blob of [
      'payloads/x.json',
      'uploads',
      'uploads/',
      'uploads//x',
      'uploads/../payloads/x.json',
      'uploads/a/./b',
      'uploads/%2e%2e/results/x',
      'uploads/a\\..\\b',
      'Uploads/x',
      '/uploads/x',
    ]) {
      assert.equal(datasetInput.safeParse({ blob }).success, false, blob);
    }
    assert.equal(datasetInput.safeParse({ blob: 'uploads/a', delimiter: '"' }).success, false);
    assert.equal(datasetInput.safeParse({ blob: 'uploads/a', checkpointBytes: 1 }).success, false);
  });

  it('reads the generated file as the generator wrote it', async () => {
    const result = await singlePass(bytes, input);
    assert.equal(result.rows, stats.rows);
    assert.equal(result.bytes, bytes.length);
    assert.equal(result.malformed.count, stats.malformedLines.length);
    assert.deepEqual(
      result.malformed.samples.map((s) => s.line),
      stats.malformedLines.slice(0, 5),
    );
    assert.deepEqual(Object.keys(result.columns), [
      'id',
      'region',
      'amount',
      'quantity',
      'customer',
      'note',
      'flag',
    ]);
    assert.equal(result.columns.id.type, 'number');
    assert.equal(result.columns.id.min, 0);
    assert.equal(result.columns.amount.type, 'number');
    assert.ok(result.columns.amount.nulls > 0);
    assert.equal(result.columns.note.type, 'string');
    assert.equal(result.columns.region.distinctExact, true);
    assert.equal(
      result.groups?.reduce((n, g) => n + g.rows, 0),
      stats.rows,
    );
  });

  it('ends with exactly the statistics of one pass when slices end every few chunks', async () => {
    const blobs = blobsOf(bytes);
    const run = await runInSlices(blobs, input, 7);
    assert.ok(run.slices > 10, `${run.slices} slices`);
    assert.deepStrictEqual(run.result, await singlePass(bytes, input));
    // Each slice resumes where the one before checkpointed, and reads from there: never from the start again.
    assert.equal(run.resumes.length, run.slices - 1);
    for (const r of run.resumes) assert.equal(r.at, r.lastCheckpoint);
    assert.deepEqual(blobs.reads, [0, ...run.resumes.map((r) => r.at)]);
    assert.ok(blobs.reads.slice(1).every((offset) => offset > 0));
  });

  it('ends with exactly the statistics of one pass when workers die between checkpoints', async () => {
    const blobs = blobsOf(bytes);
    const run = await runInSlices(blobs, input, 20, true);
    assert.ok(run.slices > 3, `${run.slices} slices`);
    assert.deepStrictEqual(run.result, await singlePass(bytes, input));
    for (const r of run.resumes) assert.equal(r.at, r.lastCheckpoint);
  });

  it('fails at once when the blob is missing or changed between slices', async () => {
    const missing: CsvBlobs = {
      properties: () => Promise.reject(Object.assign(new Error('not found'), { statusCode: 404 })),
      openRange: () => Promise.reject(new Error('unused')),
    };
    const permanent = (code: string) => (err: unknown) => err instanceof PermanentError && err.code === code;
    await assert.rejects(runInSlices(missing, input, 1), permanent('blob_not_found'));

    let etag = 'v1';
    const changing: CsvBlobs = {
      properties: async () => {
        const version = { size: bytes.length, etag };
        etag = 'v2';
        return version;
      },
      openRange: blobsOf(bytes).openRange,
    };
    await assert.rejects(runInSlices(changing, input, 3), permanent('blob_changed'));
  });

  it('refuses a blob larger than MAX_UPLOAD_BYTES before reading it', async () => {
    const read: number[] = [];
    const blobs = blobsOf(bytes);
    const counting: CsvBlobs = {
      properties: blobs.properties,
      openRange: (ref, offset, options) => {
        read.push(offset);
        return blobs.openRange(ref, offset, options);
      },
    };
    await assert.rejects(
      runInSlices(counting, input, 1, false, bytes.length - 1),
      (err: unknown) => err instanceof PermanentError && err.code === 'blob_too_large',
    );
    assert.deepEqual(read, []);
  });

  it('describes an empty file', async () => {
    const run = await runInSlices(blobsOf(Buffer.alloc(0)), input, 1);
    assert.deepStrictEqual(run.result, {
      rows: 0,
      bytes: 0,
      columns: {},
      groups: [],
      malformed: { count: 0, byCode: {}, samples: [] },
    });
  });
});
