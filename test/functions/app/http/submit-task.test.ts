import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { closeAppServices } from '../../../../functions/app/app-services';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { call } from '../../../support/http';

const submit = (body: unknown, headers: Record<string, string> = {}) =>
  call(submitTask, { method: 'POST', path: '/api/tasks', body, headers });

describe('POST /api/tasks', () => {
  let stack: AppStack;
  before(async () => {
    stack = await startAppStack({ MAX_PAYLOAD_BYTES: '2048' });
  });
  after(() => stack.stop());

  it('accepts a task with 202, Location and Retry-After, and lands a blob, a row and exactly one message', async () => {
    const before = await stack.counts();
    const res = await submit({ type: 'simulate', input: { steps: 3, stepMs: 0 } });
    assert.equal(res.status, 202);
    const task = res.body as { id: string; status: string; type: string; links: { self: string } };
    assert.match(task.id, /^[0-9a-f-]{36}$/);
    assert.equal(task.status, 'queued');
    assert.equal(task.type, 'simulate');
    assert.equal(res.headers.get('location'), `/api/tasks/${task.id}`);
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(task.links.self, `/api/tasks/${task.id}`);

    const after = await stack.counts();
    assert.deepEqual(after, {
      tasks: before.tasks + 1,
      payloads: before.payloads + 1,
      messages: before.messages + 1,
    });
    const blob = await BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE)
      .getContainerClient('payloads')
      .getBlobClient(`${task.id}.json`)
      .downloadToBuffer();
    assert.deepEqual(JSON.parse(blob.toString()), {
      steps: 3,
      stepMs: 0,
      failMode: 'transient',
      failTimes: 1,
      flakyRate: 0,
      resultBytes: 0,
    });
    const sb = new ServiceBusClient(stack.settings.ServiceBusConnection);
    const receiver = sb.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    assert.deepEqual(message.body, { taskId: task.id, slice: 0 });
    assert.equal(message.messageId, `${task.id}:0`);
    assert.match(String(message.applicationProperties?.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await sb.close();
    const row = async () =>
      (
        await stack.pool.query('SELECT status, owner, input_bytes, enqueued_at FROM tasks WHERE id = $1', [
          task.id,
        ])
      ).rows[0];
    const first = await row();
    assert.equal(first.status, 'queued');
    assert.equal(first.owner, 'local');
    assert.equal(first.input_bytes, blob.length);
    // The send is recorded after the response, without holding the client up.
    let recorded = first.enqueued_at;
    for (let i = 0; !recorded && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      recorded = (await row()).enqueued_at;
    }
    assert.ok(recorded, 'the send was recorded');
  });

  it('carries the caller traceparent to the message and the row', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await submit({ type: 'simulate', input: {} }, { traceparent });
    const { rows } = await stack.pool.query('SELECT trace_id FROM tasks WHERE id = $1', [
      (res.body as { id: string }).id,
    ]);
    assert.equal(rows[0].trace_id, '0af7651916cd43dd8448eb211c80319c');
  });

  it('gives one task for the same Idempotency-Key and body, replayed with 200', async () => {
    const body = { type: 'simulate', input: { steps: 2, stepMs: 5 } };
    const first = await submit(body, { 'idempotency-key': 'order-42' });
    const before = await stack.counts();
    // Same JSON with keys in another order is the same request.
    const second = await submit(
      { input: { stepMs: 5, steps: 2 }, type: 'simulate' },
      { 'idempotency-key': 'order-42' },
    );
    assert.equal(first.status, 202);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal((second.body as { id: string }).id, (first.body as { id: string }).id);
    assert.deepEqual(await stack.counts(), before);
  });

  it('refuses the same Idempotency-Key with a different body with 409, writing nothing', async () => {
    await submit({ type: 'simulate', input: { steps: 1 } }, { 'idempotency-key': 'k-conflict' });
    const before = await stack.counts();
    const res = await submit({ type: 'simulate', input: { steps: 9 } }, { 'idempotency-key': 'k-conflict' });
    assert.equal(res.status, 409);
    assert.equal((res.body as { field: string }).field, 'Idempotency-Key');
    assert.deepEqual(await stack.counts(), before);
  });

  it('creates one task when the same Idempotency-Key arrives twice at once', async () => {
    const before = await stack.counts();
    const body = { type: 'simulate', input: { steps: 4 } };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => submit(body, { 'idempotency-key': 'race' })),
    );
    const ids = new Set(results.map((r) => (r.body as { id: string }).id));
    assert.equal(ids.size, 1);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 202]);
    const after = await stack.counts();
    assert.equal(after.tasks, before.tasks + 1);
    assert.equal(after.payloads, before.payloads + 1, 'the losers removed their payload blobs');
  });

  describe('bad input gets a precise problem and writes nothing', () => {
    let before: { tasks: number; payloads: number; messages: number };
    beforeEach(async () => {
      before = await stack.counts();
    });
    const expectProblem = async (
      res: Awaited<ReturnType<typeof submit>>,
      status: number,
      field: string | undefined,
    ) => {
      assert.equal(res.status, status, res.text);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = res.body as Record<string, unknown>;
      assert.equal(problem.status, status);
      assert.equal(typeof problem.type, 'string');
      assert.equal(typeof problem.title, 'string');
      assert.equal(typeof problem.detail, 'string');
      assert.equal(problem.field, field);
      assert.doesNotMatch(res.text, /at \w+ \(|node_modules|\.ts:\d+/, 'no stack trace');
      assert.deepEqual(await stack.counts(), before);
    };

    it('malformed JSON is 400', async () => {
      const res = await call(submitTask, {
        method: 'POST',
        path: '/api/tasks',
        rawBody: '{"type": "simulate",',
        headers: { 'content-type': 'application/json' },
      });
      await expectProblem(res, 400, 'body');
    });

    it('a body that is not JSON is 415', async () => {
      const res = await call(submitTask, {
        method: 'POST',
        path: '/api/tasks',
        rawBody: 'type=simulate',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await expectProblem(res, 415, 'content-type');
    });

    it('a body over MAX_PAYLOAD_BYTES is 413', async () => {
      const res = await submit({ type: 'simulate', input: { pad: 'x'.repeat(4096) } });
      await expectProblem(res, 413, 'body');
    });

    it('an unknown type is 422 naming the type', async () => {
      const res = await submit({ type: 'teleport', input: {} });
      await expectProblem(res, 422, 'type');
      assert.match((res.body as { detail: string }).detail, /unknown task type "teleport".*simulate/);
    });

    it('an input failing the schema is 422 listing every failing path', async () => {
      const res = await submit({ type: 'simulate', input: { steps: 0, stepMs: -1, failMode: 'sometimes' } });
      await expectProblem(res, 422, 'input.steps');
      const paths = (res.body as { errors: Array<{ path: string }> }).errors.map((e) => e.path).sort();
      assert.deepEqual(paths, ['input.failMode', 'input.stepMs', 'input.steps']);
    });

    it('a missing type or an unknown top-level field is 422', async () => {
      await expectProblem(await submit({ input: {} }), 422, 'type');
      await expectProblem(await submit({ type: 'simulate', input: {}, priority: 1 }), 422, '');
    });

    it('a bad Idempotency-Key is 400', async () => {
      const res = await submit({ type: 'simulate', input: {} }, { 'idempotency-key': 'has space' });
      await expectProblem(res, 400, 'Idempotency-Key');
    });
  });
});

describe('POST /api/tasks when Service Bus is down', () => {
  let stack: AppStack;
  before(async () => {
    // Nothing listens on port 9 (discard): every send fails fast with a connection error.
    stack = await startAppStack({
      ServiceBusConnection:
        'Endpoint=sb://127.0.0.1:9;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
    });
  });
  after(async () => {
    await closeAppServices();
    await stack.stop();
  });

  it('still answers 202 and leaves the row queued, unsent, for the sweeper', async () => {
    const res = await submit({ type: 'simulate', input: { steps: 1 } });
    assert.equal(res.status, 202);
    const { rows } = await stack.pool.query('SELECT status, enqueued_at FROM tasks WHERE id = $1', [
      (res.body as { id: string }).id,
    ]);
    assert.equal(rows[0].status, 'queued');
    assert.equal(rows[0].enqueued_at, null);
  });
});

describe('POST /api/tasks when Service Bus does not answer', () => {
  let stack: AppStack;
  // Accepts connections and reads everything, answers nothing: a network partition as the SDK sees it.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined).on('error', () => undefined);
  });
  before(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    stack = await startAppStack({
      ServiceBusConnection: `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
    });
  });
  after(async () => {
    await closeAppServices();
    await stack.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  // The SDK alone would wait a minute per try, with retries: the caller's 202 does not wait for it.
  it(
    'answers 202 within seconds and leaves the row queued, unsent, for the sweeper',
    { timeout: 30_000 },
    async () => {
      const started = Date.now();
      const res = await submit({ type: 'simulate', input: { steps: 1 } });
      assert.equal(res.status, 202);
      assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms`);
      const { rows } = await stack.pool.query('SELECT status, enqueued_at FROM tasks WHERE id = $1', [
        (res.body as { id: string }).id,
      ]);
      assert.equal(rows[0].status, 'queued');
      assert.equal(rows[0].enqueued_at, null);
    },
  );
});
