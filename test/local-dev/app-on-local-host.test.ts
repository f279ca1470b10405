import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LocalHost } from '../../local-dev/host';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost } from '../support/engine-harness';

interface Task {
  id: string;
  status: string;
  progress: { percent: number } | null;
}

/** The app's own trigger table on the local host, against real Postgres, Redis, Azurite and the emulator. */
describe('the app on the local host', () => {
  let stack: AppStack;
  let host: LocalHost;
  let api: string;
  before(async () => {
    ({ stack, host } = await startAppOnLocalHost());
    api = `${host.url}/api`;
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  const waitFor = async (id: string, done: (t: Task) => boolean, timeoutMs = 15_000): Promise<Task> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const task = (await (await fetch(`${api}/tasks/${id}`)).json()) as Task;
      if (done(task)) return task;
      if (Date.now() > deadline) assert.fail(`task ${id} still ${task.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('submits over HTTP, runs on the Service Bus trigger and serves the result', async () => {
    const res = await fetch(`${api}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', input: { steps: 4, stepMs: 20 } }),
    });
    assert.equal(res.status, 202);
    assert.match(res.headers.get('location') ?? '', /^\/api\/tasks\/[0-9a-f-]{36}$/);
    const { id } = (await res.json()) as Task;
    const done = await waitFor(id, (t) => t.status === 'succeeded');
    assert.equal(done.progress?.percent, 100);
    const result = await fetch(`${api}/tasks/${id}/result`);
    assert.equal(result.status, 200);
    assert.deepEqual(await result.json(), {
      steps: 4,
      executions: { 'step-0': 1, 'step-1': 1, 'step-2': 1, 'step-3': 1 },
      totalExecutions: 4,
    });
  });

  it('lists, cancels and reports problems through real HTTP', async () => {
    const list = await fetch(`${api}/tasks?limit=1`);
    assert.equal(list.status, 200);
    assert.equal(((await list.json()) as { items: Task[] }).items.length, 1);
    const missing = await fetch(`${api}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const wrong = await fetch(`${api}/tasks`, { method: 'PUT' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    const big = await fetch(`${api}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', input: { pad: 'x'.repeat(11 * 1024 * 1024) } }),
    });
    assert.equal(big.status, 413);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { openapi: string };
    assert.equal(doc.openapi, '3.1.0');
    const page = await fetch(`${api}/docs`);
    assert.match(await page.text(), /swagger-ui/);
    const css = await fetch(`${api}/docs/swagger-ui.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  });

  it('is ready when every dependency answers', async () => {
    const res = await fetch(`${api}/health/ready`);
    assert.equal(res.status, 200, await res.clone().text());
  });
});
