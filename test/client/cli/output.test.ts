import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  finalLine,
  humanDuration,
  listRow,
  percentOf,
  progressLine,
  stepsTable,
} from '../../../client/cli/output';
import type { Task } from '../../../client/longhaul-client';

const progress = (p: Partial<NonNullable<Task['progress']>>): Task['progress'] => ({
  percent: null,
  current: null,
  total: null,
  message: null,
  step: null,
  ...p,
});

const task = (overrides: Partial<Task>): Task =>
  ({
    id: '3f2a1b9c-7d00-4000-8000-000000000001',
    type: 'scrape',
    status: 'running',
    progress: null,
    error: null,
    createdAt: '2026-12-06T10:00:00.000Z',
    finishedAt: null,
    ...overrides,
  }) as Task;

describe('the command line output', () => {
  it('draws progress from the percent, else from current of total (the crawler reports only counts), else the count', () => {
    assert.equal(percentOf(progress({ percent: 40, current: 1, total: 10 })), 40);
    assert.equal(percentOf(progress({ current: 3, total: 12 })), 25);
    assert.equal(percentOf(progress({ current: 3 })), null);
    assert.equal(
      progressLine({
        status: 'running',
        progress: progress({ current: 3, total: 12, message: 'https://a/' }),
      }),
      `[${'#'.repeat(8)}${'-'.repeat(22)}]  25% running https://a/`,
    );
    assert.equal(progressLine({ status: 'running', progress: progress({ current: 7 }) }), 'running 7 done');
    assert.equal(progressLine({ status: 'queued', progress: null }), 'queued');
  });

  it('ends a watch with the status, how long it took and why it failed, naming the step', () => {
    const finishedAt = '2026-12-06T10:00:12.300Z';
    assert.equal(finalLine(task({ status: 'succeeded', finishedAt })), 'succeeded in 12.3 s');
    assert.equal(
      finalLine(
        task({
          status: 'failed',
          finishedAt,
          error: { code: 'permanent_failure', message: 'boom', step: 'fetch-page-2' },
        }),
      ),
      'failed after 12.3 s: permanent_failure: boom (in step fetch-page-2)',
    );
    assert.equal(finalLine(task({ status: 'cancelled', finishedAt })), 'cancelled after 12.3 s');
  });

  it('lists a task with its duration and, when it failed, the reason', () => {
    const row = listRow(
      task({
        status: 'failed',
        finishedAt: '2026-12-06T10:04:05.000Z',
        error: { code: 'retries_exhausted', message: 'attempt 5 failed: timeout' },
      }),
    );
    assert.equal(
      row,
      '3f2a1b9c-7d00-4000-8000-000000000001  scrape     failed       4 min 05 s  retries_exhausted: attempt 5 failed: timeout',
    );
    assert.deepEqual([850, 59_949, 3_599_000, 7_380_000].map(humanDuration), [
      '850 ms',
      '59.9 s',
      '59 min 59 s',
      '2 h 03 min',
    ]);
  });

  it('shows steps as an aligned table', () => {
    const table = stepsTable([
      {
        name: 'fetch',
        status: 'succeeded',
        attempts: 2,
        slice: 0,
        startedAt: null,
        finishedAt: null,
        durationMs: 1_500,
        storedBytes: 42,
      },
      {
        name: 'parse-everything',
        status: 'running',
        attempts: 1,
        slice: 1,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        storedBytes: null,
      },
    ]);
    assert.equal(
      table,
      [
        'STEP              STATUS     ATTEMPTS  SLICE  DURATION  STORED',
        'fetch             succeeded  2         0      1.5 s     42 B',
        'parse-everything  running    1         1      -         -',
      ].join('\n'),
    );
  });
});
