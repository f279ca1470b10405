import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { triggers } from '../../../../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../../../../local-dev/host';
import { findRepoRoot } from '../../../../local-dev/services/repo-root';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { submitSimulate } from '../../../support/engine-harness';
import { readSseFromSnapshot } from '../../../support/sse-client';

interface StatusEvent {
  seq: number;
  taskId: string;
  type: string;
  status: string;
}

/** With no worker running, every status event below comes from the API itself. */
describe('status events the API records: queued at submit, cancelled for a queued task', () => {
  let stack: AppStack;
  let host: LocalHost;
  let api: string;
  before(async () => {
    stack = await startAppStack();
    host = await startLocalHost({
      triggers: triggers.filter((t) => t.kind === 'http'),
      port: 0,
      settings: stack.settings,
      hostJson: JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object,
      log: () => undefined,
    });
    api = `${host.url}/api`;
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  it('a new task has `status: queued` as event 1, and the open caller stream gets it at once', async () => {
    // The stack's own Redis namespace and database, and no worker: the first status event can only be this task's.
    const caller = readSseFromSnapshot(`${api}/events`, {
      until: (m) => m.some((x) => x.event === 'status'),
      timeoutMs: 10_000,
    });
    await caller.snapshot;
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    const history = (await (await fetch(`${api}/tasks/${id}/events`)).json()) as { items: StatusEvent[] };
    assert.deepEqual(
      history.items.map((e) => [e.seq, e.type, e.status]),
      [[1, 'status', 'queued']],
    );
    const live = (await caller.read).messages
      .filter((m) => m.event === 'status')
      .map((m) => JSON.parse(m.data) as StatusEvent);
    assert.deepEqual(
      live.filter((e) => e.taskId === id).map((e) => [e.seq, e.status]),
      [[1, 'queued']],
    );
  });

  it('cancelling a queued task records `status: cancelled` and ends its open streams', async () => {
    const id = await submitSimulate({ steps: 1, stepMs: 0 });
    const stream = readSseFromSnapshot(`${api}/tasks/${id}/events`, { timeoutMs: 10_000 });
    const caller = readSseFromSnapshot(`${api}/events`, {
      until: (m) => m.some((x) => x.event === 'status' && x.data.includes(id)),
      timeoutMs: 10_000,
    });
    await Promise.all([stream.snapshot, caller.snapshot]);
    assert.equal((await fetch(`${api}/tasks/${id}`, { method: 'DELETE' })).status, 202);

    const task = await stream.read;
    assert.equal(task.closedByServer, true);
    const [status, end] = task.messages.slice(-2);
    assert.equal(status.event, 'status');
    assert.equal(status.id, '2');
    assert.equal((JSON.parse(status.data) as StatusEvent).status, 'cancelled');
    assert.deepEqual(end, { event: 'end', data: '{"status":"cancelled"}' });

    const live = (await caller.read).messages
      .filter((m) => m.event === 'status')
      .map((m) => JSON.parse(m.data) as StatusEvent);
    assert.deepEqual(
      live.filter((e) => e.taskId === id).map((e) => [e.seq, e.status]),
      [[2, 'cancelled']],
    );
    const history = (await (await fetch(`${api}/tasks/${id}/events`)).json()) as { items: StatusEvent[] };
    assert.deepEqual(
      history.items.map((e) => [e.seq, e.status]),
      [
        [1, 'queued'],
        [2, 'cancelled'],
      ],
    );
  });
});
