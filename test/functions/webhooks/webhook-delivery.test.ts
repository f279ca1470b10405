import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';
import { closeAppServices } from '../../../functions/app/app-services';
import { cancelTask } from '../../../functions/app/http/handlers/cancel-task';
import { getTask } from '../../../functions/app/http/handlers/read-tasks';
import { submitTask } from '../../../functions/app/http/handlers/submit-task';
import { sweepTasks } from '../../../functions/app/timers/sweep-tasks';
import { verifyWebhookSignature } from '../../../functions/webhooks/webhook-signature';
import type { LocalHost } from '../../../local-dev/host';
import { startAppStack, type AppStack } from '../../support/app-stack';
import { invocation, startWorker, timer } from '../../support/engine-harness';
import { call } from '../../support/http';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

interface TaskBody {
  id: string;
  status: string;
  callback: { url: string; status: string; attempts: number; lastError: string | null } | null;
}

/** A webhook receiver: answers each path with the statuses queued for it (then 200), and records every request. */
async function startReceiver() {
  const deliveries: Delivery[] = [];
  const answers = new Map<string, number[]>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      res.writeHead(answers.get(req.url ?? '')?.shift() ?? 200).end();
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    origin,
    deliveries,
    connections: () => connections,
    answer: (path: string, ...statuses: number[]) => answers.set(path, statuses),
    to: (path: string) => deliveries.filter((d) => d.path === path),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('completion webhooks', () => {
  const secret = randomBytes(32).toString('hex');
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: AppStack;
  let worker: LocalHost | undefined;

  const submit = (
    path: string,
    input: object = { steps: 2, stepMs: 10 },
    callbackUrl = `${receiver.origin}${path}`,
  ) =>
    call(submitTask, { method: 'POST', path: '/api/tasks', body: { type: 'simulate', input, callbackUrl } });
  const task = async (id: string) =>
    (await call(getTask, { path: `/api/tasks/${id}`, params: { id } })).body as TaskBody;
  const settled = (id: string) =>
    until(`the webhook of ${id}`, async () => {
      const t = await task(id);
      return t.callback && ['delivered', 'failed'].includes(t.callback.status) ? t : undefined;
    });

  before(async () => {
    receiver = await startReceiver();
    stack = await startAppStack({
      WEBHOOK_SIGNING_SECRET: secret,
      WEBHOOK_RETRY_BASE_SECONDS: '1',
      WEBHOOK_MAX_ATTEMPTS: '3',
      OUTBOUND_ALLOW_PRIVATE_HOSTS: new URL(receiver.origin).host,
    });
  });
  after(async () => {
    await worker?.close();
    await stack.stop();
    receiver.server.close();
  });

  it('a callbackUrl that is not http(s), carries credentials or names a private address is refused with 422', async () => {
    const before = await stack.counts();
    for (const url of [
      'ftp://example.com/hook',
      'http://user:pw@example.com/hook',
      'http://10.0.0.1/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'not a url',
    ]) {
      const res = await submit('/x', undefined, url);
      assert.equal(res.status, 422, url);
      assert.equal((res.body as { field: string }).field, 'callbackUrl', url);
    }
    assert.deepEqual(await stack.counts(), before);
  });

  it('a queued task cancelled by the API gets its webhook, carried by a message on the queue', async () => {
    const res = await submit('/cancelled');
    assert.equal(res.status, 202);
    const id = (res.body as TaskBody).id;
    assert.deepEqual((res.body as TaskBody).callback, {
      url: `${receiver.origin}/cancelled`,
      status: 'waiting',
      attempts: 0,
      lastError: null,
    });
    await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
    assert.equal((await task(id)).callback?.status, 'pending');
    assert.equal(receiver.to('/cancelled').length, 0, 'nothing is sent before a worker takes the message');
    worker = await startWorker(stack);
    const done = await settled(id);
    assert.equal(done.callback?.status, 'delivered');
    const [delivery] = receiver.to('/cancelled');
    assert.equal(delivery.headers['longhaul-event'], 'task.cancelled');
    assert.equal((JSON.parse(delivery.body) as TaskBody).status, 'cancelled');
  });

  it('a finished task POSTs its Task JSON once, signed with HMAC-SHA256 over the body and a timestamp', async () => {
    const id = ((await submit('/ok')).body as TaskBody).id;
    const done = await settled(id);
    assert.deepEqual(done.callback, {
      url: `${receiver.origin}/ok`,
      status: 'delivered',
      attempts: 1,
      lastError: null,
    });
    const deliveries = receiver.to('/ok');
    assert.equal(deliveries.length, 1);
    const [d] = deliveries;
    assert.equal(d.headers['content-type'], 'application/json');
    assert.equal(d.headers['longhaul-event'], 'task.succeeded');
    assert.equal(d.headers['longhaul-delivery'], id);
    assert.match(d.headers['user-agent'] ?? '', /^Longhaul\//);
    assert.equal(verifyWebhookSignature(secret, d.body, d.headers['longhaul-signature'] as string), true);
    assert.equal(
      verifyWebhookSignature('another-key', d.body, d.headers['longhaul-signature'] as string),
      false,
    );
    const posted = JSON.parse(d.body) as TaskBody & { links: { result: string } };
    assert.equal(posted.id, id);
    assert.equal(posted.status, 'succeeded');
    assert.equal(posted.links.result, `/api/tasks/${id}/result`);
  });

  it('a failing receiver is retried with growing delays until it answers 2xx', async () => {
    receiver.answer('/flaky', 500, 503);
    const id = ((await submit('/flaky')).body as TaskBody).id;
    const done = await settled(id);
    assert.equal(done.callback?.status, 'delivered');
    assert.equal(done.callback?.attempts, 3);
    const at = receiver.to('/flaky').map((d) => d.at);
    assert.equal(at.length, 3);
    // Backoff from 1 s: the first retry after 0.5-1 s, the second after 1-2 s.
    assert.ok(at[1] - at[0] >= 450, `first retry after ${at[1] - at[0]} ms`);
    assert.ok(at[2] - at[1] >= 950, `second retry after ${at[2] - at[1]} ms`);
    assert.equal(new Set(receiver.to('/flaky').map((d) => d.headers['longhaul-attempt'])).size, 3);
  });

  it('after the last attempt the delivery is failed with the reason; 410 Gone stops at once', async () => {
    receiver.answer('/down', 500, 500, 500, 500);
    receiver.answer('/gone', 410);
    const down = ((await submit('/down')).body as TaskBody).id;
    const gone = ((await submit('/gone')).body as TaskBody).id;
    const [d, g] = await Promise.all([settled(down), settled(gone)]);
    assert.deepEqual(d.callback, {
      url: `${receiver.origin}/down`,
      status: 'failed',
      attempts: 3,
      lastError: 'attempt 3: answered 500',
    });
    assert.equal(receiver.to('/down').length, 3);
    assert.equal(g.callback?.status, 'failed');
    assert.equal(g.callback?.attempts, 1);
    assert.equal(receiver.to('/gone').length, 1);
  });

  it('a failed task sends task.failed', async () => {
    const id = (
      (await submit('/failed', { steps: 2, stepMs: 0, failAtStep: 1, failMode: 'permanent' }))
        .body as TaskBody
    ).id;
    assert.equal((await settled(id)).callback?.status, 'delivered');
    assert.equal(receiver.to('/failed')[0].headers['longhaul-event'], 'task.failed');
  });

  it('a delivery whose message was lost is re-sent by the sweeper', async () => {
    await worker?.close();
    worker = undefined;
    const id = ((await submit('/lost')).body as TaskBody).id;
    await call(cancelTask, { method: 'DELETE', path: `/api/tasks/${id}`, params: { id } });
    // Lose every message on the queue (the task's slice and its webhook delivery).
    const client = new ServiceBusClient(stack.settings.ServiceBusConnection);
    const receiverLink = client.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
    const lost = await receiverLink.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
    await client.close();
    assert.ok(lost.some((m) => (m.body as { webhook?: number }).webhook === 1));
    await stack.pool.query(`UPDATE tasks SET callback_due_at = now() - interval '10 minutes' WHERE id = $1`, [
      id,
    ]);
    await sweepTasks(timer, invocation());
    worker = await startWorker(stack);
    const done = await settled(id);
    assert.equal(done.callback?.status, 'delivered');
    assert.equal(receiver.to('/lost').length, 1);
  });

  it('the address is checked again at delivery: a host no longer allowed is refused without a connection', async () => {
    const id = ((await submit('/blocked', { steps: 1, stepMs: 1_500 })).body as TaskBody).id;
    // The operator withdraws the allowance while the task runs.
    await worker?.close();
    process.env.OUTBOUND_ALLOW_PRIVATE_HOSTS = '';
    await closeAppServices();
    worker = await startWorker({
      ...stack,
      settings: { ...stack.settings, OUTBOUND_ALLOW_PRIVATE_HOSTS: '' },
    });
    const connections = receiver.connections();
    const done = await settled(id);
    assert.equal(done.callback?.status, 'failed');
    assert.equal(done.callback?.attempts, 1);
    assert.match(done.callback?.lastError ?? '', /refused .*127\.0\.0\.1 is loopback/);
    assert.equal(receiver.connections(), connections);
    assert.equal(receiver.to('/blocked').length, 0);
  });

  it('without a signing secret a callbackUrl is refused: webhooks are off', async () => {
    process.env.WEBHOOK_SIGNING_SECRET = '';
    await closeAppServices();
    const res = await submit('/off');
    assert.equal(res.status, 422);
    assert.match((res.body as { detail: string }).detail, /callbackUrl: webhooks are not enabled/);
  });
});
