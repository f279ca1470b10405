import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { cancelTask } from '../../../../functions/app/http/handlers/cancel-task';
import { getTask, listTasks } from '../../../../functions/app/http/handlers/read-tasks';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import { listTaskEvents } from '../../../../functions/app/http/handlers/task-events';
import { getTaskResult } from '../../../../functions/app/http/handlers/task-result';
import { runTaskSlice } from '../../../../functions/app/servicebus/process-task-message';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { call } from '../../../support/http';

interface TaskBody {
  id: string;
  type: string;
  status: string;
  cancelRequested: boolean;
  progress: { percent: number; current: number; total: number } | null;
  error: { code: string; message: string } | null;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
}

const submit = async (input: unknown = { steps: 1, stepMs: 0 }) =>
  (await call(submitTask, { method: 'POST', path: '/api/tasks', body: { type: 'simulate', input } }))
    .body as TaskBody;
const byId = (handler: typeof getTask, id: string, method = 'GET', suffix = '') =>
  call(handler, { method, path: `/api/tasks/${id}${suffix}`, params: { id } });
const work = (id: string) =>
  runTaskSlice({ taskId: id, slice: 0 }, new InvocationContext({ functionName: 'processTaskMessage' }));

describe('reading, listing, cancelling tasks and fetching results', () => {
  let stack: AppStack;
  before(async () => {
    stack = await startAppStack();
  });
  after(() => stack.stop());

  it('GET /api/tasks/{id} returns the task, with Retry-After until it is finished; unknown is 404 and a bad id is 400', async () => {
    const task = await submit();
    const res = await byId(getTask, task.id);
    assert.equal(res.status, 200);
    assert.equal((res.body as TaskBody).id, task.id);
    assert.equal((res.body as TaskBody).status, 'queued');
    assert.equal(res.headers.get('retry-after'), '2');
    const missing = await byId(getTask, '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const bad = await byId(getTask, 'not-a-uuid');
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { field: string }).field, 'id');
  });

  it('lists newest first with cursor paging and filters by status and type', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await submit()).id);
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2&status=queued${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call(listTasks, { path: `/api/tasks${query}` });
      assert.equal(res.status, 200, res.text);
      const page = res.body as { items: TaskBody[]; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      pages.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    const newestFive = pages.slice(0, 5);
    assert.deepEqual(newestFive, [...made].reverse());
    assert.equal(new Set(pages).size, pages.length, 'no task on two pages');

    const byType = await call(listTasks, { path: '/api/tasks?type=simulate&limit=100' });
    assert.ok((byType.body as { items: TaskBody[] }).items.every((t) => t.type === 'simulate'));
    const none = await call(listTasks, { path: '/api/tasks?status=failed' });
    assert.deepEqual((none.body as { items: TaskBody[] }).items, []);
  });

  it('rejects bad list queries with 400 naming the parameter', async () => {
    for (const [query, field] of [
      ['status=bogus', 'status'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['type=Not_A_Type', 'type'],
      ['stauts=queued', 'stauts'],
    ]) {
      const res = await call(listTasks, { path: `/api/tasks?${query}` });
      assert.equal(res.status, 400, query);
      assert.equal((res.body as { field: string }).field, field, query);
    }
  });

  it('cancels a queued task at once; a finished task is 409; an unknown one 404', async () => {
    const task = await submit();
    const res = await byId(cancelTask, task.id, 'DELETE');
    assert.equal(res.status, 202);
    assert.equal((res.body as TaskBody).status, 'cancelled');
    assert.equal((res.body as TaskBody).cancelRequested, true);
    const again = await byId(cancelTask, task.id, 'DELETE');
    assert.equal(again.status, 409);
    assert.equal((await byId(cancelTask, '00000000-0000-4000-8000-000000000000', 'DELETE')).status, 404);
    // The worker then finds it cancelled and leaves it so.
    await work(task.id);
    assert.equal(((await byId(getTask, task.id)).body as TaskBody).status, 'cancelled');
  });

  it('runs a task to the end: progress, status events, result streamed from Blob', async () => {
    const task = await submit({ steps: 3, stepMs: 1 });
    const early = await byId(getTaskResult, task.id, 'GET', '/result');
    assert.equal(early.status, 409);
    await work(task.id);
    const finished = await byId(getTask, task.id);
    assert.equal(finished.headers.get('retry-after'), null, 'nothing more to poll for');
    const done = finished.body as TaskBody;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 1);
    assert.ok(done.finishedAt);
    const result = await byId(getTaskResult, task.id, 'GET', '/result');
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('content-type'), 'application/json');
    assert.deepEqual(result.body, {
      steps: 3,
      executions: { 'step-0': 1, 'step-1': 1, 'step-2': 1 },
      totalExecutions: 3,
    });
    const events = await call(listTaskEvents, {
      path: `/api/tasks/${task.id}/events`,
      params: { id: task.id },
    });
    assert.equal(events.status, 200);
    const items = (events.body as { items: Array<{ seq: number; type: string; status?: string }> }).items;
    // Strictly increasing; live-only progress events take numbers too, so the history may skip some.
    assert.ok(
      items.every((e, i) => i === 0 || e.seq > items[i - 1].seq),
      'seq strictly increasing',
    );
    assert.deepEqual(
      items.filter((e) => e.type === 'status').map((e) => e.status),
      ['queued', 'running', 'succeeded'],
    );
    assert.ok(items.some((e) => e.type === 'progress'));
    const after1 = await call(listTaskEvents, {
      path: `/api/tasks/${task.id}/events?after=1`,
      params: { id: task.id },
    });
    assert.deepEqual(
      (after1.body as { items: Array<{ seq: number }> }).items.map((e) => e.seq),
      items.slice(1).map((e) => e.seq),
    );
    assert.equal((await byId(cancelTask, task.id, 'DELETE')).status, 409);
  });

  it('records a permanent failure with its code and message', async () => {
    const task = await submit({ steps: 2, stepMs: 0, failAtStep: 1, failMode: 'permanent' });
    await work(task.id);
    const failed = (await byId(getTask, task.id)).body as TaskBody;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, {
      code: 'permanent_failure',
      message: 'simulated permanent failure at step 1',
      step: 'step-1',
    });
    assert.equal((await byId(getTaskResult, task.id, 'GET', '/result')).status, 409);
  });

  it('drops a message that is not a task reference instead of failing forever', async (t) => {
    // The engine logs through the app's JSON-line logger, which writes warnings with console.warn.
    const warnings: string[] = [];
    t.mock.method(console, 'warn', (line: string) => warnings.push(line));
    const context = new InvocationContext({ functionName: 'processTaskMessage' });
    await assert.doesNotReject(runTaskSlice('{"nope": true}', context));
    await assert.doesNotReject(runTaskSlice({ taskId: 'x', slice: -1 }, context));
    const messages = warnings.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.equal(messages.length, 2);
    assert.match(messages[0], /dead-lettering the message: InvalidTaskMessage: not a task reference/);
  });

  it('events of an unknown task are 404 and a bad ?after is 400', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    assert.equal(
      (await call(listTaskEvents, { path: `/api/tasks/${unknown}/events`, params: { id: unknown } })).status,
      404,
    );
    const task = await submit();
    const bad = await call(listTaskEvents, {
      path: `/api/tasks/${task.id}/events?after=-1`,
      params: { id: task.id },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { field: string }).field, 'after');
  });
});
