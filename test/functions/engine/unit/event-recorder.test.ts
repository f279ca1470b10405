import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRecorder } from '../../../../functions/engine/event-recorder';
import type { TaskEventRow } from '../../../../functions/model/events';
import { FakeEvents } from '../../../support/engine-fakes';

const TASK = 'task-1';

/**
 * In-memory history that keeps (task_id, seq) unique as Postgres does, and fails as a restarting Postgres does: each
 * planned failure ends the next write with a terminated connection, `before` it is stored or `after` (the answer lost).
 */
class RestartingHistory extends FakeEvents {
  readonly failures: Array<'before' | 'after'> = [];

  override async append(taskId: string, event: Parameters<FakeEvents['append']>[1]) {
    if (this.of(taskId).some((e) => e.seq === event.seq)) {
      throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    }
    const failure = this.failures.shift();
    const terminated = () => Object.assign(new Error('terminating connection'), { code: '57P01' });
    if (failure === 'before') throw terminated();
    const row = await super.append(taskId, event);
    if (failure === 'after') throw terminated();
    return row;
  }
}

/** A recorder on in-memory history, with what it published live; seqs start after `lastSeq`. */
function recorder(lastSeq = 3) {
  const history = new RestartingHistory();
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

  it('retries a write that a Postgres restart cut off, keeping the order, and stores each event once', async () => {
    const { events, history, published, errors } = recorder();
    // The first write fails before it is stored; the second is stored but its answer is lost.
    history.failures.push('before', 'after');
    void events.log('info', 'one');
    void events.log('info', 'two');
    void events.log('info', 'three');
    await events.drain();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      history.of(TASK).map((e) => [e.seq, e.message]),
      [
        [4, 'one'],
        [5, 'two'],
        [6, 'three'],
      ],
    );
    assert.deepEqual(
      published.map((e) => [e.seq, e.message]),
      [
        [4, 'one'],
        [5, 'two'],
        [6, 'three'],
      ],
      'each published once, in order, after it was stored',
    );
  });
});
