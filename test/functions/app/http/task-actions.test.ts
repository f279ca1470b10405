import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { triggers } from '../../../../functions/app/triggers';
import type { LocalHost } from '../../../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../../../support/api-keys';
import { startAppHost } from '../../../support/app-host';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { isFinished, stepRuns, waitForTask } from '../../../support/engine-harness';

interface Task {
  id: string;
  status: string;
  createdAt: string;
  rerunOf: string | null;
  error: { code: string; message: string; step?: string } | null;
}

interface Step {
  name: string;
  status: string;
  attempts: number;
  slice: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  storedBytes: number | null;
}

interface Problem {
  status: number;
  field?: string;
  detail: string;
}

describe('acting on tasks: input, steps, retry, rerun, counts, search and bulk actions (AUTH_MODE=apikey)', () => {
  let stack: AppStack;
  let host: LocalHost;
  const keys = { user: '', other: '', admin: '' };

  const api = async (path: string, key: string, init: RequestInit & { json?: unknown } = {}) => {
    const res = await fetch(`${host.url}${path}`, {
      ...init,
      body: init.json === undefined ? init.body : JSON.stringify(init.json),
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers as Record<string, string>),
      },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as unknown };
  };
  const submit = async (input: object, key = keys.user) => {
    const res = await api('/api/tasks', key, { method: 'POST', json: { type: 'simulate', input } });
    assert.equal(res.status, 202);
    return res.body as Task;
  };
  const steps = async (id: string) => {
    const res = await api(`/api/tasks/${id}/steps`, keys.user);
    assert.equal(res.status, 200);
    return (res.body as { items: Step[] }).items;
  };

  before(async () => {
    stack = await startAppStack({
      ...APIKEY_SETTINGS,
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_BASE_SECONDS: '1',
      LEASE_SECONDS: '3',
      HEARTBEAT_SECONDS: '1',
      // A task left hanging by a failed assertion ends with its slice, not 8 minutes later.
      SLICE_BUDGET_SECONDS: '20',
      LOG_LEVEL: 'error',
    });
    host = await startAppHost(stack.settings, { triggers: triggers.filter((t) => t.kind !== 'timer') });
    const run = randomUUID().slice(0, 8);
    keys.user = (await keysCli('create', '--owner', `user-${run}`)).key;
    keys.other = (await keysCli('create', '--owner', `other-${run}`)).key;
    keys.admin = (await keysCli('create', '--owner', `ops-${run}`, '--role', 'admin')).key;
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('the owner retries a failed task from the step that failed; the steps view shows status, attempts, slices and timings', async () => {
    // Step 2 fails in both attempts (RETRY_MAX_ATTEMPTS=2): the task fails naming it.
    const { id } = await submit({ steps: 4, stepMs: 20, failAtStep: 2, failTimes: 2, resultBytes: 100 });
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'failed');
    const failed = (await api(`/api/tasks/${id}`, keys.user)).body as Task;
    assert.equal(failed.error?.step, 'step-2');
    const before = await steps(id);
    assert.deepEqual(
      before.map((s) => [s.name, s.status, s.attempts]),
      [
        ['step-0', 'succeeded', 1],
        ['step-1', 'succeeded', 1],
        ['step-2', 'failed', 2],
      ],
    );
    for (const step of before) {
      assert.ok(step.startedAt && step.finishedAt && step.durationMs !== null, step.name);
      assert.ok(step.durationMs >= 20, `${step.name} took its stepMs: ${step.durationMs}`);
      assert.equal(Date.parse(step.finishedAt) - Date.parse(step.startedAt), step.durationMs);
    }
    assert.equal(before[0].slice, 0);
    assert.ok((before[0].storedBytes ?? 0) > 100, 'the stored result with its padding');
    assert.equal(before[2].storedBytes, null);

    assert.equal((await api(`/api/tasks/${id}/retry`, keys.other, { method: 'POST' })).status, 404);
    const retried = await api(`/api/tasks/${id}/retry`, keys.user, { method: 'POST' });
    assert.equal(retried.status, 202);
    assert.equal((retried.body as Task).status, 'queued');
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    // Steps 0 and 1 came from the checkpoints; step 2 ran a third time and passed.
    assert.deepEqual(await stepRuns(stack, id), { 'step-0': 1, 'step-1': 1, 'step-2': 3, 'step-3': 1 });
    const after = await steps(id);
    assert.deepEqual(
      after.map((s) => [s.name, s.status, s.attempts]),
      [
        ['step-0', 'succeeded', 1],
        ['step-1', 'succeeded', 1],
        ['step-2', 'succeeded', 3],
        ['step-3', 'succeeded', 1],
      ],
    );
    assert.ok((after[2].slice ?? 0) > (after[1].slice ?? 0), 'the retry ran in a later slice');
    const again = await api(`/api/tasks/${id}/retry`, keys.user, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal((again.body as { taskStatus: string }).taskStatus, 'succeeded');
  });

  it('a step in flight shows as running, with its attempt and elapsed time, from the next heartbeat', async () => {
    const { id } = await submit({ steps: 2, stepMs: 0, hangAtStep: 1 });
    let running: Step | undefined;
    for (
      const end = Date.now() + 10_000;
      !running && Date.now() < end;
      await new Promise((r) => setTimeout(r, 100))
    )
      running = (await steps(id)).find((s) => s.status === 'running');
    assert.ok(running, 'step-1 shows as running');
    assert.deepEqual(
      [running.name, running.attempts, running.slice, running.finishedAt],
      ['step-1', 1, 0, null],
    );
    assert.ok((running.durationMs ?? -1) >= 0);
    assert.equal((await api(`/api/tasks/${id}`, keys.user, { method: 'DELETE' })).status, 202);
    await waitForTask(stack, id, isFinished);
    assert.deepEqual(
      (await steps(id)).map((s) => `${s.name} ${s.status}`),
      ['step-0 succeeded'],
      'a cancelled step in flight is not shown as running',
    );
  });

  it('shows the input as accepted and reruns a task as a new one linked to it, once per Idempotency-Key', async () => {
    const original = await submit({ steps: 1, stepMs: 0 });
    const input = await api(`/api/tasks/${original.id}/input`, keys.user);
    assert.equal(input.status, 200);
    assert.equal(input.headers.get('content-type'), 'application/json');
    // Validated and normalized at submit: the defaults are filled in.
    assert.deepEqual(input.body, {
      steps: 1,
      stepMs: 0,
      failMode: 'transient',
      failTimes: 1,
      flakyRate: 0,
      resultBytes: 0,
    });
    assert.equal((await api(`/api/tasks/${original.id}/input`, keys.other)).status, 404);

    const key = { 'idempotency-key': `rerun-${original.id}` };
    const rerun = await api(`/api/tasks/${original.id}/rerun`, keys.admin, { method: 'POST', headers: key });
    assert.equal(rerun.status, 202);
    const copy = rerun.body as Task;
    assert.notEqual(copy.id, original.id);
    assert.equal(copy.rerunOf, original.id);
    assert.equal(rerun.headers.get('location'), `/api/tasks/${copy.id}`);
    // An admin's rerun is on the owner's behalf: the owner sees it, with the same input.
    assert.deepEqual((await api(`/api/tasks/${copy.id}/input`, keys.user)).body, input.body);
    const replay = await api(`/api/tasks/${original.id}/rerun`, keys.admin, { method: 'POST', headers: key });
    assert.equal(replay.status, 200);
    assert.equal((replay.body as Task).id, copy.id);
    assert.equal((await waitForTask(stack, copy.id, isFinished)).status, 'succeeded');
    assert.equal((await api(`/api/tasks/${original.id}/rerun`, keys.other, { method: 'POST' })).status, 404);
  });

  it('counts by status and searches by id prefix, type and creation time, with 400 naming a bad parameter', async () => {
    const from = new Date().toISOString();
    const a = await submit({ steps: 1, stepMs: 0 }, keys.other);
    const b = await submit({ steps: 1, stepMs: 0, failAtStep: 0, failMode: 'permanent' }, keys.other);
    await waitForTask(stack, a.id, isFinished);
    await waitForTask(stack, b.id, isFinished);
    const to = new Date(Date.now() + 1).toISOString();
    const counts = await api(`/api/tasks/counts?createdAfter=${from}`, keys.other);
    assert.deepEqual(counts.body, {
      total: 2,
      byStatus: { queued: 0, running: 0, waiting: 0, succeeded: 1, failed: 1, cancelled: 0 },
    });
    const list = async (query: string, key = keys.other) =>
      ((await api(`/api/tasks?${query}`, key)).body as { items: Task[] }).items.map((t) => t.id);
    assert.deepEqual(await list(`idPrefix=${a.id.slice(0, 9).toUpperCase()}`), [a.id]);
    assert.deepEqual(await list(`idPrefix=${a.id}`), [a.id]);
    assert.deepEqual(await list(`createdAfter=${from}&createdBefore=${to}`), [b.id, a.id]);
    assert.deepEqual(await list(`createdAfter=${b.createdAt}&status=failed`), [b.id]);
    assert.deepEqual(await list(`createdBefore=${a.createdAt}&createdAfter=${from}`), []);
    assert.deepEqual(
      await list(`idPrefix=${a.id.slice(0, 9)}`, keys.user),
      [],
      "another caller's task is not found",
    );
    assert.ok((await list(`idPrefix=${a.id.slice(0, 9)}`, keys.admin)).includes(a.id));
    for (const [query, field] of [
      ['idPrefix=xyz', 'idPrefix'],
      ['idPrefix=0123456789', 'idPrefix'],
      ['createdAfter=yesterday', 'createdAfter'],
      ['createdBefore=2026-13-01T00:00:00Z', 'createdBefore'],
      ['type=Bad_Type', 'type'],
    ]) {
      for (const path of ['/api/tasks', '/api/tasks/counts']) {
        const res = await api(`${path}?${query}`, keys.other);
        assert.equal(res.status, 400, `${path}?${query}`);
        assert.equal((res.body as Problem).field, field);
      }
    }
    assert.equal((await api('/api/tasks/counts?status=failed', keys.other)).status, 400);
  });

  it('cancels and retries in bulk by filter, a page at a time, only tasks the caller may act on', async () => {
    const from = new Date().toISOString();
    const hanging = [];
    for (let i = 0; i < 3; i++) hanging.push((await submit({ steps: 1, stepMs: 0, hangAtStep: 0 })).id);
    const foreign = await submit({ steps: 1, stepMs: 0, hangAtStep: 0 }, keys.other);
    const filter = { type: 'simulate', createdAfter: from };
    const first = await api('/api/tasks/bulk/cancel', keys.user, {
      method: 'POST',
      json: { filter, limit: 2 },
    });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, {
      action: 'cancel',
      affected: hanging.slice(0, 2),
      skipped: [],
      more: true,
    });
    // The first two are cancelled, or asked to stop while running: either way they no longer match.
    const second = await api('/api/tasks/bulk/cancel', keys.user, {
      method: 'POST',
      json: { filter, limit: 2 },
    });
    assert.deepEqual(second.body, { action: 'cancel', affected: [hanging[2]], skipped: [], more: false });
    for (const id of hanging) assert.equal((await waitForTask(stack, id, isFinished)).status, 'cancelled');
    await waitForTask(stack, foreign.id, (t) => t.status === 'running');

    const failing = [];
    for (let i = 0; i < 2; i++)
      failing.push((await submit({ steps: 1, stepMs: 0, failAtStep: 0, failMode: 'permanent' })).id);
    for (const id of failing) await waitForTask(stack, id, isFinished);
    const retried = await api('/api/tasks/bulk/retry', keys.user, {
      method: 'POST',
      json: { filter: { status: 'failed', createdAfter: from } },
    });
    assert.deepEqual(retried.body, { action: 'retry', affected: failing, skipped: [], more: false });
    for (const id of failing) assert.equal((await waitForTask(stack, id, isFinished)).status, 'failed');

    // An admin's bulk action reaches any owner's task.
    const admin = await api('/api/tasks/bulk/cancel', keys.admin, {
      method: 'POST',
      json: { filter: { idPrefix: foreign.id } },
    });
    assert.deepEqual((admin.body as { affected: string[] }).affected, [foreign.id]);
    assert.equal((await waitForTask(stack, foreign.id, isFinished)).status, 'cancelled');

    for (const [body, field] of [
      [{}, 'filter'],
      [{ filter: { status: 'paused' } }, 'filter.status'],
      [{ filter: {}, limit: 0 }, 'limit'],
      [{ filter: { owner: 'someone' } }, 'filter'],
    ] as const) {
      const res = await api('/api/tasks/bulk/retry', keys.user, { method: 'POST', json: body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal((res.body as Problem).field, field, JSON.stringify(res.body));
    }
  });
});
