import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appServices } from '../../../functions/app/app-services';
import { cancelTask } from '../../../functions/app/http/handlers/cancel-task';
import { getTask } from '../../../functions/app/http/handlers/read-tasks';
import { retryTask } from '../../../functions/app/http/handlers/retry-task';
import { signalTask } from '../../../functions/app/http/handlers/signal-task';
import { submitTask } from '../../../functions/app/http/handlers/submit-task';
import type { LocalHost } from '../../../local-dev/host';
import { startAppStack, type AppStack } from '../../support/app-stack';
import {
  deadLetters,
  isFinished,
  startWorker,
  stepRuns,
  submitSimulate,
  taskState,
  waitForTask,
} from '../../support/engine-harness';
import { call } from '../../support/http';
import { randomUUID } from 'node:crypto';
import { ServiceBusClient } from '@azure/service-bus';
import { CONTAINERS } from '../../../functions/storage/blob-store';

type Json = Record<string, unknown>;

/** POST /api/tasks/{id}/signals/{name} through the real handler. */
function signal(id: string, name: string, body: unknown, headers: Record<string, string> = {}, query = '') {
  return call(signalTask, {
    method: 'POST',
    path: `/api/tasks/${id}/signals/${name}${query}`,
    params: { id, name },
    body,
    headers,
  });
}

async function taskJson(id: string): Promise<Json> {
  return (await call(getTask, { path: `/api/tasks/${id}`, params: { id } })).body as Json;
}

async function result(stack: AppStack, id: string): Promise<Json> {
  const { rows } = await stack.pool.query<{ result_ref: string }>(
    'SELECT result_ref FROM tasks WHERE id = $1',
    [id],
  );
  return (await appServices().blobs.getJson(rows[0].result_ref)) as Json;
}

async function leaseOwner(id: string): Promise<string | undefined> {
  const lease = await appServices().checkpoints.leaseState(id);
  return lease.live ? 'held' : undefined;
}

const isWaiting = (t: { status: string }) => t.status === 'waiting';

describe('durable waits and runtime limits (issue 23) on the real local stack', () => {
  let stack: AppStack;
  let worker: LocalHost | undefined;
  before(async () => {
    stack = await startAppStack({
      SLICE_BUDGET_SECONDS: '2',
      LEASE_SECONDS: '2',
      HEARTBEAT_SECONDS: '1',
      RETRY_BASE_SECONDS: '1',
      STEP_ABORT_GRACE_SECONDS: '1',
      MAX_TAKEOVERS: '1',
      STREAM_TOKEN_SECRET: 'signal-link-test-secret',
      PUBLIC_BASE_URL: 'https://longhaul.example',
    });
    worker = await startWorker(stack);
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
  });

  it('sleeps without holding a worker, across a worker restart, and runs no step twice', async () => {
    const id = await submitSimulate({ steps: 3, stepMs: 10, sleepAtStep: 1, sleepMs: 3_000 });
    await waitForTask(stack, id, isWaiting);
    const waiting = await taskJson(id);
    const until = (waiting.waiting as Json).until as string;
    assert.deepEqual(waiting.waiting, { kind: 'sleep', name: 'sleep-1', until });
    assert.ok(Date.parse(until) - Date.now() > 1_000, 'the sleep ends about 3 s after it started');
    assert.equal(await leaseOwner(id), undefined, 'no worker holds the lease while it sleeps');
    await worker?.close();
    worker = await startWorker(stack);
    const done = await waitForTask(stack, id, isFinished, 20_000);
    assert.equal(done.status, 'succeeded');
    assert.ok(Date.now() >= Date.parse(until), 'it did not wake before the sleep ended');
    assert.deepEqual(await stepRuns(stack, id), { 'step-0': 1, 'step-1': 1, 'step-2': 1 });
    const statuses = (await appServices().taskEvents.page(id, 0, 100))
      .filter((e) => e.type === 'status')
      .map((e) => (e.data as Json).status);
    assert.deepEqual(statuses, ['queued', 'running', 'waiting', 'running', 'succeeded']);
  });

  it('waits for a signal, then carries on with its payload', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 10, waitAtStep: 1 });
    await waitForTask(stack, id, isWaiting);
    assert.deepEqual((await taskJson(id)).waiting, { kind: 'signal', name: 'continue', until: null });
    const sent = await signal(id, 'continue', { note: 'go on' });
    assert.equal(sent.status, 202, sent.text);
    assert.equal((sent.body as Json).duplicate, false);
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    assert.equal((await result(stack, id)).note, 'go on');
  });

  it('keeps a signal sent before the wait, and the task never waits', async () => {
    const id = await submitSimulate({ steps: 3, stepMs: 300, waitAtStep: 2 });
    const sent = await signal(id, 'continue', { note: 'early' });
    assert.equal(sent.status, 202, sent.text);
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    assert.equal((await result(stack, id)).note, 'early');
    const statuses = (await appServices().taskEvents.page(id, 0, 100))
      .filter((e) => e.type === 'status')
      .map((e) => (e.data as Json).status);
    assert.ok(!statuses.includes('waiting'), `statuses: ${statuses.join(', ')}`);
  });

  it('fails with signal_timeout when no signal comes in time, and dead-letters the message with that reason', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 10, waitAtStep: 1, waitTimeoutMs: 1_500 });
    await waitForTask(stack, id, isWaiting);
    const done = await waitForTask(stack, id, isFinished, 15_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'signal_timeout');
    assert.ok(
      (await deadLetters(stack)).some((d) => (d.body as Json).taskId === id && d.reason === 'signal_timeout'),
    );
    // A retry waits again, from the retry on, rather than replaying the timeout.
    const retried = await call(retryTask, { method: 'POST', path: `/api/tasks/${id}/retry`, params: { id } });
    assert.equal(retried.status, 202, retried.text);
    await waitForTask(stack, id, isWaiting);
    assert.equal((await signal(id, 'continue', { note: 'second chance' })).status, 202);
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    assert.equal((await result(stack, id)).note, 'second chance');
  });

  it('refuses an invalid signal with 422 naming the field, and the task keeps waiting; repeats are idempotent', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 10, waitAtStep: 1 });
    await waitForTask(stack, id, isWaiting);
    const invalid = await signal(id, 'continue', { note: 5 });
    assert.equal(invalid.status, 422, invalid.text);
    assert.equal(invalid.headers.get('content-type'), 'application/problem+json');
    assert.equal((invalid.body as Json).field, 'payload.note');
    const unknown = await signal(id, 'approve', {});
    assert.equal(unknown.status, 404);
    assert.match((unknown.body as Json).detail as string, /they take: continue/);
    assert.equal((await taskState(stack, id)).status, 'waiting', 'nothing reached the task');

    const first = await signal(id, 'continue', { note: 'one' }, { 'idempotency-key': 'k-1' });
    assert.equal(first.status, 202);
    const sameKey = await signal(id, 'continue', { note: 'other' }, { 'idempotency-key': 'k-1' });
    assert.equal(sameKey.status, 200);
    assert.deepEqual((sameKey.body as Json).payload, { note: 'one' }, 'the kept signal is answered');
    const samePayload = await signal(id, 'continue', { note: 'one' });
    assert.equal(samePayload.status, 200);
    assert.equal((samePayload.body as Json).duplicate, true);
    const different = await signal(id, 'continue', { note: 'two' });
    assert.equal(different.status, 409);
    assert.equal((different.body as Json).type, 'urn:longhaul:problem:signal-conflict');
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    assert.equal((await result(stack, id)).note, 'one');
    const late = await signal(id, 'continue', { note: 'late' });
    assert.equal(late.status, 409, 'a finished task takes no signal');
  });

  it('cancels a sleeping task and a waiting task at once; their wake-up later runs nothing', async () => {
    const sleeping = await submitSimulate({ steps: 2, stepMs: 10, sleepAtStep: 1, sleepMs: 3_600_000 });
    const waiting = await submitSimulate({ steps: 2, stepMs: 10, waitAtStep: 1, waitTimeoutMs: 2_500 });
    await waitForTask(stack, sleeping, isWaiting);
    await waitForTask(stack, waiting, isWaiting);
    for (const id of [sleeping, waiting]) {
      const res = await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
      assert.equal(res.status, 202);
      assert.equal((res.body as Json).status, 'cancelled', 'no worker holds it: cancelled at once');
      assert.equal((res.body as Json).waiting, null);
    }
    // The signal wait's timeout message comes and finds the task finished.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal((await taskState(stack, waiting)).status, 'cancelled');
    assert.deepEqual(await stepRuns(stack, waiting), { 'step-0': 1 });
  });

  it('costs no worker time while it waits an hour: no lease, no heartbeat, one scheduled message', async () => {
    const id = await submitSimulate({ steps: 2, stepMs: 10, sleepAtStep: 1, sleepMs: 3_600_000 });
    await waitForTask(stack, id, isWaiting);
    const { rows } = await stack.pool.query<{ heartbeat_at: Date; wake_at: Date }>(
      'SELECT heartbeat_at, wake_at FROM tasks WHERE id = $1',
      [id],
    );
    const wakeIn = rows[0].wake_at.getTime() - Date.now();
    assert.ok(wakeIn > 3_590_000 && wakeIn <= 3_600_000, `wakes in an hour (${wakeIn} ms)`);
    await new Promise((r) => setTimeout(r, 2_500)); // over two heartbeats
    const later = await stack.pool.query<{ heartbeat_at: Date }>(
      'SELECT heartbeat_at FROM tasks WHERE id = $1',
      [id],
    );
    assert.equal(
      later.rows[0].heartbeat_at.getTime(),
      rows[0].heartbeat_at.getTime(),
      'no heartbeat: no worker',
    );
    assert.equal(await leaseOwner(id), undefined);
    const peeker = new ServiceBusClient(stack.settings.ServiceBusConnection);
    const peeked = await peeker.createReceiver('tasks').peekMessages(1000);
    await peeker.close();
    const mine = peeked.filter((m) => (m.body as Json).taskId === id);
    assert.equal(mine.length, 1, 'one message: the one that wakes it');
    assert.equal(mine[0].state, 'scheduled');
    assert.equal(mine[0].scheduledEnqueueTimeUtc?.getTime(), rows[0].wake_at.getTime());
    await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
  });

  it('fails with max_duration_exceeded across slices, and wakes a task waiting past its limit to fail it', async () => {
    const res = await call(submitTask, {
      method: 'POST',
      path: '/api/tasks',
      body: { type: 'simulate', input: { steps: 20, stepMs: 400 }, maxDurationSeconds: 3 },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal((res.body as Json).maxDurationSeconds, 3);
    const id = (res.body as Json).id as string;
    const done = await waitForTask(stack, id, isFinished, 15_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'max_duration_exceeded');
    const slices = (await appServices().taskEvents.page(id, 0, 200)).filter((e) =>
      /continuing in slice/.test(e.message ?? ''),
    );
    assert.ok(slices.length >= 1, 'it ran across more than one slice');

    const waits = await call(submitTask, {
      method: 'POST',
      path: '/api/tasks',
      body: { type: 'simulate', input: { steps: 2, stepMs: 10, waitAtStep: 1 }, maxDurationSeconds: 1 },
    });
    const waitId = (waits.body as Json).id as string;
    await waitForTask(stack, waitId, isWaiting);
    const ended = await waitForTask(stack, waitId, isFinished, 15_000);
    assert.equal(ended.error?.code, 'max_duration_exceeded');
  });

  it('hands out a signal link that delivers that signal without a key, and nothing else (the approval type)', async () => {
    const res = await call(submitTask, {
      method: 'POST',
      path: '/api/tasks',
      body: {
        type: 'approval',
        input: {
          title: 'Q3',
          figures: [
            { label: 'North', value: 3 },
            { label: 'South', value: 1 },
          ],
        },
      },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal((res.body as Json).maxDurationSeconds, 31 * 86_400, "the type's own limit");
    const id = (res.body as Json).id as string;
    await waitForTask(stack, id, isWaiting);
    const events = await appServices().taskEvents.page(id, 0, 100);
    const link = events.map((e) => (e.data as Json | null)?.signalUrl).find(Boolean) as string;
    assert.match(link, new RegExp(`^https://longhaul\\.example/api/tasks/${id}/signals/decision\\?token=`));
    const url = new URL(link);
    const token = url.searchParams.get('token')!;
    const forged = await signal(id, 'decision', { approve: true }, {}, `?token=${token.slice(1)}x`);
    assert.equal(forged.status, 403);
    const otherTask = await submitSimulate({ steps: 1, stepMs: 0 });
    const elsewhere = await signal(otherTask, 'decision', { approve: true }, {}, url.search);
    assert.equal(elsewhere.status, 403, 'the token opens only its own task and signal');
    const approved = await signal(id, 'decision', { approve: true, comment: 'ship it' }, {}, url.search);
    assert.equal(approved.status, 202, approved.text);
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
    const report = await result(stack, id);
    assert.equal(report.decision, 'approved');
    assert.equal(report.published, true);
    assert.equal((report.report as Json).total, 4);
    const again = await signal(id, 'decision', { approve: false }, {}, url.search);
    assert.equal(again.status, 409, 'single use: the task kept its decision and ended');
  });

  it('fails a task taken over more than MAX_TAKEOVERS times with takeover_limit and dead-letters its message', async () => {
    const services = appServices();
    // A task accepted but not sent yet, so no worker runs it before its lease history is written.
    const id = randomUUID();
    const input = Buffer.from(JSON.stringify({ steps: 1, stepMs: 0 }));
    const inputRef = await services.blobs.putJson(CONTAINERS.payloads, `${id}.json`, input, false);
    await services.repository.insert({
      id,
      type: 'simulate',
      owner: 'anonymous',
      idempotencyKey: null,
      requestHash: null,
      inputRef,
      inputBytes: input.length,
      traceId: null,
    });
    // Two workers took its lease in turn and died holding it; the worker that takes it now is the second takeover.
    for (const dead of ['dead-1', 'dead-2']) {
      assert.ok(await services.checkpoints.acquire(id, dead, 300));
      await new Promise((r) => setTimeout(r, 400));
    }
    await services.engine.dispatch.send(
      { traceContext: null },
      { taskId: id, slice: 0 },
      { messageId: `${id}:0` },
    );
    const done = await waitForTask(stack, id, isFinished, 15_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'takeover_limit');
    assert.ok(
      (await deadLetters(stack)).some((d) => (d.body as Json).taskId === id && d.reason === 'takeover_limit'),
    );
  });
});
