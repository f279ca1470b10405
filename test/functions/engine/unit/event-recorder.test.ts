import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRecorder } from '../../../../functions/engine/event-recorder';
import type { TaskEventRow } from '../../../../functions/model/events';
import { FakeEvents } from '../../../support/engine-fakes';

const TASK = 'task-1';

/** A recorder on in-memory history, with what it published live; seqs start after `lastSeq`. */
function recorder(lastSeq = 3) {
  const history = new FakeEvents();
  const published: TaskEventRow[] = [];
  const errors: unknown[] = [];
  const events = new EventRecorder(
    TASK,
    lastSeq,
    { updateProgress: async () => ({ cancelRequested: false }) },
    history,
    { publish: (event) => void published.push(event) },
    (err) => errors.push(err),
  );
  return { events, history, published, errors };
}

/** What a stream shows: it drops an event whose seq is not above the last one it sent (task-event-stream.ts). */
function shown(published: TaskEventRow[]): TaskEventRow[] {
  let last = 0;
  return published.filter((e) => {
    if (e.seq <= last) return false;
    last = e.seq;
    return true;
  });
}

describe('event recorder', () => {
  it('stores a progress that went out live under the same seq, so a stream shows each change once', async () => {
    const { events, history, published, errors } = recorder();
    events.progress({ percent: 50, current: 1, total: 2 });
    await events.flushProgress();
    await events.drain();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      published.map((e) => [e.type, e.seq]),
      [
        ['progress', 4],
        ['progress', 4],
      ],
      'published live, then again once stored',
    );
    assert.deepEqual(
      history.of(TASK).map((e) => [e.type, e.seq]),
      [['progress', 4]],
    );
    assert.equal(shown(published).length, 1);
  });

  it('gives a stored progress that never went out live the next seq, after the events before it', async () => {
    const { events, history, published } = recorder();
    events.progress({ percent: 10 }); // the first: out live and stored at once
    events.progress({ percent: 20 }); // within 100 ms of it: held back from the live channel
    await events.log('info', 'between');
    await events.flushProgress();
    await events.drain();
    assert.deepEqual(
      published.map((e) => [e.type, e.seq, (e.data as { percent?: number } | null)?.percent ?? null]),
      [
        ['progress', 4, 10],
        ['progress', 4, 10],
        ['log', 5, null],
        ['progress', 6, 20],
      ],
    );
    assert.deepEqual(
      history.of(TASK).map((e) => e.seq),
      [4, 5, 6],
    );
    assert.equal(shown(published).length, 3, 'no change shown twice, none lost');
  });

  it('stores a live progress under its seq after events that followed it, and the next event goes on from there', async () => {
    const { events, history, published } = recorder();
    events.progress({ percent: 10 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    events.progress({ percent: 20 }); // out live at once; stored within the second, or at the flush
    await events.log('info', 'after the live progress');
    await events.flushProgress();
    await events.status('running');
    await events.drain();
    assert.deepEqual(
      history.of(TASK).map((e) => [e.type, e.seq]),
      [
        ['progress', 4],
        ['progress', 5],
        ['log', 6],
        ['status', 7],
      ],
    );
    assert.deepEqual(
      shown(published).map((e) => e.seq),
      [4, 5, 6, 7],
    );
  });
});
