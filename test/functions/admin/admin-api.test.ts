import assert from 'node:assert/strict';
import { startAppHost } from '../../support/app-host';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';
import { triggers } from '../../../functions/app/triggers';
import type { LocalHost } from '../../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../../support/api-keys';
import { startAppStack, type AppStack } from '../../support/app-stack';
import { isFinished, stepRuns, waitForTask } from '../../support/engine-harness';

interface DeadLetterItem {
  sequenceNumber: string;
  kind: string;
  taskId: string | null;
  taskStatus: string | null;
  slice: number | null;
  reason: string | null;
  description: string | null;
  enqueuedAt: string | null;
  deliveryCount: number;
}

describe('admin API: stats, dead letters and retrying failed tasks (AUTH_MODE=apikey)', () => {
  let stack: AppStack;
  let host: LocalHost;
  const keys = { user: '', admin: '' };

  const api = (path: string, key: string | undefined, init: RequestInit = {}) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
  const submit = async (input: object) => {
    const res = await api('/api/tasks', keys.user, {
      method: 'POST',
      body: JSON.stringify({ type: 'simulate', input }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };
  const deadLetters = async (): Promise<DeadLetterItem[]> => {
    const res = await api('/api/admin/dead-letters?limit=100', keys.admin);
    assert.equal(res.status, 200);
    return ((await res.json()) as { items: DeadLetterItem[] }).items;
  };
  const deadLetterOf = async (taskId: string): Promise<DeadLetterItem> => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const letter = (await deadLetters()).find((d) => d.taskId === taskId);
      if (letter) return letter;
      if (Date.now() > deadline) throw new Error(`no dead letter for task ${taskId}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** A row written straight to Postgres, for states no worker would leave behind while the test looks. */
  const insertTask = async (status: string, ageSeconds: number) => {
    const id = randomUUID();
    await stack.pool.query(
      `INSERT INTO tasks (id, type, status, owner, input_ref, input_bytes, created_at, started_at, heartbeat_at,
         updated_at)
       VALUES ($1, 'simulate', $2, 'user', $3, 2, now() - make_interval(secs => $4),
         CASE WHEN $2 = 'running' THEN now() - make_interval(secs => $4) END,
         CASE WHEN $2 = 'running' THEN now() - make_interval(secs => $4) END,
         now() - make_interval(secs => $4))`,
      [id, status, `payloads/${id}.json`, ageSeconds],
    );
    return id;
  };

  before(async () => {
    stack = await startAppStack({
      ...APIKEY_SETTINGS,
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_BASE_SECONDS: '1',
      LEASE_SECONDS: '2',
      HEARTBEAT_SECONDS: '1',
    });
    // No timers: the sweeper would re-drive the rows this test writes by hand.
    host = await startAppHost(stack.settings, { triggers: triggers.filter((t) => t.kind !== 'timer') });
    keys.user = (await keysCli('create', '--owner', 'user')).key;
    keys.admin = (await keysCli('create', '--owner', 'ops', '--role', 'admin')).key;
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('answers 403 forbidden to a caller without the admin role, and 401 to no caller', async () => {
    const id = randomUUID();
    const endpoints: Array<[string, string]> = [
      ['GET', '/api/admin/stats'],
      ['GET', '/api/admin/dead-letters'],
      ['POST', `/api/admin/tasks/${id}/retry`],
      ['DELETE', '/api/admin/dead-letters/1'],
    ];
    for (const [method, path] of endpoints) {
      const forbidden = await api(path, keys.user, { method });
      assert.equal(forbidden.status, 403, `${method} ${path}`);
      assert.equal(forbidden.headers.get('content-type'), 'application/problem+json');
      const body = (await forbidden.json()) as { type: string; status: number };
      assert.equal(body.type, 'urn:longhaul:problem:forbidden');
      assert.equal(body.status, 403);
      assert.equal((await api(path, undefined, { method })).status, 401, `${method} ${path} without a key`);
    }
  });

  it('lists the admin endpoints in /api/openapi.json', async () => {
    const doc = (await (await api('/api/openapi.json', undefined)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    assert.ok(doc.paths['/api/admin/stats'].get);
    assert.ok(doc.paths['/api/admin/dead-letters'].get);
    assert.ok(doc.paths['/api/admin/dead-letters/{sequenceNumber}'].delete);
    assert.ok(doc.paths['/api/admin/tasks/{id}/retry'].post);
  });

  it('counts tasks by status and type, queue and dead-letter messages, the oldest queued and stalled tasks', async () => {
    const succeeded = [await submit({ steps: 1, stepMs: 0 }), await submit({ steps: 2, stepMs: 0 })];
    const failed = await submit({ steps: 2, stepMs: 0, failAtStep: 0, failMode: 'permanent' });
    const cancelled = await submit({ steps: 100, stepMs: 100 });
    await waitForTask(stack, cancelled, (t) => t.status === 'running');
    assert.equal((await api(`/api/tasks/${cancelled}`, keys.user, { method: 'DELETE' })).status, 202);
    for (const id of [...succeeded, failed, cancelled]) await waitForTask(stack, id, isFinished);
    const queued = await insertTask('queued', 120);
    const stalled = await insertTask('running', 600);
    // A message for later: the queue holds it as scheduled.
    const client = new ServiceBusClient(stack.settings.ServiceBusConnection);
    await client.createSender('tasks').sendMessages({
      body: { taskId: queued, slice: 0 },
      scheduledEnqueueTimeUtc: new Date(Date.now() + 3_600_000),
    });
    await client.close();

    const before = Date.now();
    const res = await api('/api/admin/stats', keys.admin);
    assert.equal(res.status, 200);
    const stats = (await res.json()) as {
      generatedAt: string;
      tasks: { total: number; byStatus: Record<string, number>; byType: unknown[] };
      queue: Record<string, unknown>;
      oldestQueued: { id: string; ageSeconds: number } | null;
      stalled: { count: number; tasks: Array<{ id: string; silentSeconds: number }> };
    };
    const byStatus = { queued: 1, running: 1, waiting: 0, succeeded: 2, failed: 1, cancelled: 1 };
    assert.deepEqual(stats.tasks, { total: 6, byStatus, byType: [{ type: 'simulate', total: 6, byStatus }] });
    assert.deepEqual(stats.queue, {
      name: 'tasks',
      activeCount: 0,
      scheduledCount: 1,
      deferredCount: 0,
      deadLetterCount: 1,
      countMethod: 'peek',
      countLimit: 5000,
      truncated: false,
    });
    assert.equal(stats.oldestQueued?.id, queued);
    assert.ok(stats.oldestQueued.ageSeconds >= 119, `age ${stats.oldestQueued.ageSeconds}`);
    assert.equal(stats.stalled.count, 1);
    assert.equal(stats.stalled.tasks[0].id, stalled);
    assert.ok(stats.stalled.tasks[0].silentSeconds >= 599);
    assert.ok(Math.abs(Date.parse(stats.generatedAt) - before) < 5_000);
    // Out of the way of the tests below.
    await stack.pool.query('DELETE FROM tasks WHERE id = ANY($1::uuid[])', [[queued, stalled]]);
  });

  it('re-drives a dead-lettered task from its checkpoint: completed steps do not run again', async () => {
    // Step 2 fails transiently twice: with RETRY_MAX_ATTEMPTS=2 the engine fails the task and dead-letters its message.
    const id = await submit({ steps: 4, stepMs: 0, failAtStep: 2, failTimes: 2 });
    const failed = await waitForTask(stack, id, isFinished, 20_000);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'retries_exhausted');
    // The engine records the failure, then dead-letters the message.
    const letter = await deadLetterOf(id);
    assert.equal(letter.kind, 'slice');
    assert.equal(letter.reason, 'retries_exhausted');
    assert.match(letter.description ?? '', /attempt 2 failed/);
    assert.equal(letter.taskStatus, 'failed');
    assert.match(letter.sequenceNumber, /^\d+$/);
    // Received once and dead-lettered by the engine: an explicit dead-letter is not a failed delivery on Azure.
    assert.equal(letter.deliveryCount, 0);
    assert.ok(Date.parse(letter.enqueuedAt ?? '') > Date.now() - 60_000);
    assert.deepEqual(await stepRuns(stack, id), { 'step-0': 1, 'step-1': 1, 'step-2': 2 });

    const res = await api(`/api/admin/tasks/${id}/retry`, keys.admin, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('location'), `/api/tasks/${id}`);
    const requeued = (await res.json()) as {
      status: string;
      attempts: number;
      error: unknown;
      finishedAt: unknown;
    };
    assert.deepEqual(
      {
        status: requeued.status,
        attempts: requeued.attempts,
        error: requeued.error,
        finishedAt: requeued.finishedAt,
      },
      { status: 'queued', attempts: 0, error: null, finishedAt: null },
    );
    const done = await waitForTask(stack, id, isFinished);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 1);
    // Steps 0 and 1 came from the checkpoints; step 2 ran a third time (and passed); step 3 ran once.
    assert.deepEqual(await stepRuns(stack, id), { 'step-0': 1, 'step-1': 1, 'step-2': 3, 'step-3': 1 });
    const result = (await (await api(`/api/tasks/${id}/result`, keys.user)).json()) as {
      executions: Record<string, number>;
    };
    assert.deepEqual(result.executions, { 'step-0': 1, 'step-1': 1, 'step-2': 3, 'step-3': 1 });

    const events = (await (await api(`/api/tasks/${id}/events?limit=1000`, keys.user)).json()) as {
      items: Array<{ seq: number; type: string; status?: string; message?: string }>;
    };
    const statuses = events.items.filter((e) => e.type === 'status').map((e) => e.status);
    assert.deepEqual(statuses, ['queued', 'running', 'failed', 'queued', 'running', 'succeeded']);
    const note = events.items.find((e) => e.type === 'log' && e.message?.startsWith('retried by ops'));
    assert.ok(note, 'the retry is in the task history');
    const seqs = events.items.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);

    const again = await api(`/api/admin/tasks/${id}/retry`, keys.admin, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.deepEqual(((await again.json()) as { type: string; taskStatus: string }).taskStatus, 'succeeded');
    assert.equal(
      (await api(`/api/admin/tasks/${randomUUID()}/retry`, keys.admin, { method: 'POST' })).status,
      404,
    );
    const bad = await api('/api/admin/tasks/nope/retry', keys.admin, { method: 'POST' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'id');
  });

  it('refuses to retry a task that is not failed (409 with its status)', async () => {
    const running = await submit({ steps: 1, stepMs: 0, hangAtStep: 0 });
    await waitForTask(stack, running, (t) => t.status === 'running');
    const res = await api(`/api/admin/tasks/${running}/retry`, keys.admin, { method: 'POST' });
    assert.equal(res.status, 409);
    const body = (await res.json()) as { type: string; taskStatus: string };
    assert.equal(body.type, 'urn:longhaul:problem:task-not-failed');
    assert.equal(body.taskStatus, 'running');
    await api(`/api/tasks/${running}`, keys.user, { method: 'DELETE' });
    await waitForTask(stack, running, isFinished);
  });

  it('deletes one dead letter by sequence number and leaves the others as they were', async () => {
    const before = await deadLetters();
    assert.ok(before.length >= 2, `dead letters: ${before.length}`);
    const target = before[before.length - 1];
    const res = await api(`/api/admin/dead-letters/${target.sequenceNumber}`, keys.admin, {
      method: 'DELETE',
    });
    assert.equal(res.status, 204);
    const afterDelete = await deadLetters();
    assert.deepEqual(
      afterDelete.map((d) => d.sequenceNumber),
      before.slice(0, -1).map((d) => d.sequenceNumber),
    );
    const gone = await api(`/api/admin/dead-letters/${target.sequenceNumber}`, keys.admin, {
      method: 'DELETE',
    });
    assert.equal(gone.status, 404);
    assert.equal(
      ((await gone.json()) as { type: string }).type,
      'urn:longhaul:problem:dead-letter-not-found',
    );
    const bad = await api('/api/admin/dead-letters/abc', keys.admin, { method: 'DELETE' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'sequenceNumber');
    const badLimit = await api('/api/admin/dead-letters?limit=0', keys.admin);
    assert.equal(badLimit.status, 400);
    assert.equal(((await badLimit.json()) as { field: string }).field, 'limit');
  });
});
