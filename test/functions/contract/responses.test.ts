import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { triggers } from '../../../functions/app/triggers';
import { runTaskSlice } from '../../../functions/app/servicebus/process-task-message';
import type { LocalHost } from '../../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../../support/api-keys';
import { startAppHost } from '../../support/app-host';
import { startAppStack, type AppStack } from '../../support/app-stack';
import { appServices } from '../../../functions/app/app-services';
import { CONTAINERS } from '../../../functions/storage/blob-store';
import { ContractChecker, isJson, type OpenApi } from './contract-check';

/** Documented responses this test cannot bring about, and why. */
const UNREACHED = new Map([
  ['POST /api/tasks 503', 'needs Redis down (the rate limiter refuses submits it cannot count)'],
  ['POST /api/uploads 503', 'needs Redis down'],
  ['GET /api/health/ready 503', 'needs a dependency down'],
  ['DELETE /api/admin/dead-letters/{sequenceNumber} 409', "needs another receiver's lock on the dead letter"],
  ['POST /api/tasks/{id}/retry 503', 'needs Redis down'],
  ['POST /api/tasks/{id}/rerun 503', 'needs Redis down'],
  ['POST /api/tasks/bulk/cancel 503', 'needs Redis down'],
  ['POST /api/tasks/bulk/retry 503', 'needs Redis down'],
  ['POST /api/tasks/{id}/signals/{name} 503', 'needs Redis down'],
]);

/** Low, so that spending a caller's budget takes few requests; above what one caller of this test reads. */
const READS = 60;
const SUBMITS = 25;
const MAX_PAYLOAD_BYTES = 64 * 1024;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('every JSON response of the API matches its schema in the OpenAPI document', () => {
  let stack: AppStack;
  let host: LocalHost;
  let checker: ContractChecker;
  let document: OpenApi;
  const keys = { alice: '', carol: '', dave: '', admin: '', spender: '' };
  let checked = 0;

  interface Call {
    key?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  }

  /** One request to the app, its status asserted and its JSON body checked against the contract. */
  const api = async (expected: number, method: string, path: string, call: Call = {}) => {
    const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
    const res = await fetch(`${host.url}${path}`, {
      method,
      body,
      headers: {
        ...(call.key ? { authorization: `Bearer ${call.key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...call.headers,
      },
    });
    const text = await res.text();
    assert.equal(res.status, expected, `${method} ${path}: ${text.slice(0, 300)}`);
    const contentType = res.headers.get('content-type');
    const json: unknown = isJson(contentType) ? JSON.parse(text) : undefined;
    if (json !== undefined) {
      const violation = checker.violation({
        method,
        url: res.url,
        status: res.status,
        contentType,
        body: json,
      });
      assert.equal(violation, undefined);
      checked++;
    }
    return json as Record<string, unknown>;
  };
  const submit = async (input: object) =>
    (await api(202, 'POST', '/api/tasks', { key: keys.alice, body: { type: 'simulate', input } }))
      .id as string;
  const work = (taskId: string) =>
    runTaskSlice({ taskId, slice: 0 }, new InvocationContext({ functionName: 'processTaskMessage' }));

  before(async () => {
    stack = await startAppStack({
      ...APIKEY_SETTINGS,
      RATE_LIMIT_READS_PER_MINUTE: String(READS),
      RATE_LIMIT_SUBMITS_PER_MINUTE: String(SUBMITS),
      MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
      MAX_HEADER_BYTES: '4096',
      // The engine's warnings about the task failed on purpose.
      LOG_LEVEL: 'error',
    });
    // HTTP only: the queue keeps the messages, which the test runs or dead-letters itself.
    host = await startAppHost(stack.settings, { triggers: triggers.filter((t) => t.kind === 'http') });
    // Rate limits are counted in the shared Redis by owner: owners of this run only, so a rerun starts afresh.
    const run = randomUUID().slice(0, 8);
    keys.alice = (await keysCli('create', '--owner', `alice-${run}`)).key;
    keys.admin = (await keysCli('create', '--owner', `ops-${run}`, '--role', 'admin')).key;
    keys.spender = (await keysCli('create', '--owner', `spender-${run}`)).key;
    keys.carol = (await keysCli('create', '--owner', `carol-${run}`)).key;
    keys.dave = (await keysCli('create', '--owner', `dave-${run}`)).key;
    document = (await (await fetch(`${host.url}/api/openapi.json`)).json()) as OpenApi;
    checker = new ContractChecker(document);
    // The document is a response too.
    await api(200, 'GET', '/api/openapi.json');
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('documents every API route of the trigger table', () => {
    for (const trigger of triggers) {
      if (
        trigger.kind !== 'http' ||
        !trigger.route.startsWith('api/') ||
        trigger.route.startsWith('api/docs/')
      )
        continue;
      for (const method of trigger.methods)
        assert.ok(document.paths[`/${trigger.route}`]?.[method.toLowerCase()], `${method} /${trigger.route}`);
    }
  });

  it('tasks: submit, list, get, cancel, result, events', async () => {
    const alice = { key: keys.alice };
    const done = await submit({ steps: 2, stepMs: 0 });
    await work(done);
    const queued = await submit({ steps: 1, stepMs: 0 });
    const body = { type: 'simulate', input: { steps: 1, stepMs: 0 } };
    const idempotent = { ...alice, headers: { 'idempotency-key': 'contract-1' } };
    await api(202, 'POST', '/api/tasks', { ...idempotent, body });
    await api(200, 'POST', '/api/tasks', { ...idempotent, body });
    await api(409, 'POST', '/api/tasks', {
      ...idempotent,
      body: { ...body, input: { steps: 2, stepMs: 0 } },
    });
    await api(400, 'POST', '/api/tasks', { ...alice, body, headers: { 'idempotency-key': 'not visible' } });
    await api(413, 'POST', '/api/tasks', { ...alice, rawBody: `"${'x'.repeat(MAX_PAYLOAD_BYTES)}"` });
    await api(415, 'POST', '/api/tasks', { ...alice, body, headers: { 'content-type': 'text/plain' } });
    await api(422, 'POST', '/api/tasks', { ...alice, body: { type: 'no-such-type' } });

    const list = await api(200, 'GET', '/api/tasks?limit=2', alice);
    assert.equal((list.items as unknown[]).length, 2);
    await api(400, 'GET', '/api/tasks?limit=0', alice);

    for (const id of [done, queued]) await api(200, 'GET', `/api/tasks/${id}`, alice);
    await api(400, 'GET', '/api/tasks/not-a-uuid', alice);
    await api(404, 'GET', `/api/tasks/${UNKNOWN_ID}`, alice);

    await api(200, 'GET', `/api/tasks/${done}/result`, alice);
    await api(409, 'GET', `/api/tasks/${queued}/result`, alice);
    await api(400, 'GET', '/api/tasks/not-a-uuid/result', alice);
    await api(404, 'GET', `/api/tasks/${UNKNOWN_ID}/result`, alice);

    const events = await api(200, 'GET', `/api/tasks/${done}/events`, alice);
    const kinds = (events.items as Array<{ type: string }>).map((e) => e.type);
    assert.ok(kinds.includes('status') && kinds.includes('progress'), kinds.join());
    await api(400, 'GET', `/api/tasks/${done}/events?limit=0`, alice);
    await api(400, 'GET', '/api/tasks/not-a-uuid/events', alice);
    await api(404, 'GET', `/api/tasks/${UNKNOWN_ID}/events`, alice);

    await api(202, 'DELETE', `/api/tasks/${queued}`, alice);
    await api(409, 'DELETE', `/api/tasks/${queued}`, alice);
    await api(400, 'DELETE', '/api/tasks/not-a-uuid', alice);
    await api(404, 'DELETE', `/api/tasks/${UNKNOWN_ID}`, alice);

    await api(406, 'GET', '/api/events', alice);
  });

  it('tasks: input, steps, counts, retry, rerun, bulk cancel and retry', async () => {
    const carol = { key: keys.carol };
    const make = async (input: object) =>
      (await api(202, 'POST', '/api/tasks', { ...carol, body: { type: 'simulate', input } })).id as string;
    const failed = await make({ steps: 2, stepMs: 0, failAtStep: 1, failMode: 'permanent' });
    await work(failed);
    const queued = await make({ steps: 1, stepMs: 0 });

    await api(200, 'GET', `/api/tasks/${failed}/input`, carol);
    await api(400, 'GET', '/api/tasks/not-a-uuid/input', carol);
    await api(404, 'GET', `/api/tasks/${UNKNOWN_ID}/input`, carol);
    const steps = await api(200, 'GET', `/api/tasks/${failed}/steps`, carol);
    assert.deepEqual(
      (steps.items as Array<{ name: string; status: string }>).map((s) => `${s.name} ${s.status}`),
      ['step-0 succeeded', 'step-1 failed'],
    );
    await api(400, 'GET', '/api/tasks/not-a-uuid/steps', carol);
    await api(404, 'GET', `/api/tasks/${UNKNOWN_ID}/steps`, carol);

    const counts = await api(200, 'GET', '/api/tasks/counts?type=simulate', carol);
    assert.equal(counts.total, 2);
    await api(400, 'GET', '/api/tasks/counts?status=failed', carol);

    const rerunKey = { ...carol, headers: { 'idempotency-key': 'contract-rerun' } };
    const rerun = await api(202, 'POST', `/api/tasks/${failed}/rerun`, rerunKey);
    assert.equal(rerun.rerunOf, failed);
    await api(200, 'POST', `/api/tasks/${failed}/rerun`, rerunKey);
    await api(409, 'POST', `/api/tasks/${queued}/rerun`, rerunKey);
    await api(400, 'POST', `/api/tasks/${failed}/rerun`, {
      ...carol,
      headers: { 'idempotency-key': 'not visible' },
    });
    await api(404, 'POST', `/api/tasks/${UNKNOWN_ID}/rerun`, carol);
    // The input is checked again: one that no longer fits the type's schema (written here by hand) is a 422.
    const { blobs } = appServices();
    await blobs.putJson(CONTAINERS.payloads, `${queued}.json`, Buffer.from('{"steps": -1}'), true);
    await api(422, 'POST', `/api/tasks/${queued}/rerun`, carol);
    await blobs.delete(`${CONTAINERS.payloads}/${queued}.json`);
    await api(410, 'POST', `/api/tasks/${queued}/rerun`, carol);
    await api(410, 'GET', `/api/tasks/${queued}/input`, carol);

    await api(202, 'POST', `/api/tasks/${failed}/retry`, carol);
    await api(409, 'POST', `/api/tasks/${failed}/retry`, carol);
    await api(400, 'POST', '/api/tasks/not-a-uuid/retry', carol);
    await api(404, 'POST', `/api/tasks/${UNKNOWN_ID}/retry`, carol);

    for (const action of ['cancel', 'retry']) {
      const path = `/api/tasks/bulk/${action}`;
      const result = await api(200, 'POST', path, {
        ...carol,
        body: { filter: { idPrefix: queued.slice(0, 8) } },
      });
      assert.equal(result.action, action);
      await api(400, 'POST', path, { ...carol, rawBody: '{' });
      await api(413, 'POST', path, { ...carol, rawBody: `"${'x'.repeat(20_000)}"` });
      await api(415, 'POST', path, { ...carol, rawBody: '{}', headers: { 'content-type': 'text/plain' } });
      await api(422, 'POST', path, { ...carol, body: { filter: { idPrefix: 'xyz' } } });
    }
  });

  it('signals: kept, repeated, refused', async () => {
    const dave = { key: keys.dave };
    const waiting = async () => {
      const id = (
        await api(202, 'POST', '/api/tasks', {
          ...dave,
          body: { type: 'simulate', input: { steps: 1, stepMs: 0, waitAtStep: 0 } },
        })
      ).id as string;
      await work(id);
      return id;
    };
    const id = await waiting();
    const path = `/api/tasks/${id}/signals/continue`;
    const kept = await api(202, 'POST', path, { ...dave, body: { note: 'go' } });
    assert.equal(kept.taskStatus, 'waiting');
    await api(200, 'POST', path, { ...dave, body: { note: 'go' } });
    await api(409, 'POST', path, { ...dave, body: { note: 'other' } });
    await api(400, 'POST', `/api/tasks/not-a-uuid/signals/continue`, { ...dave, body: {} });
    await api(400, 'POST', `/api/tasks/${id}/signals/bad%20name`, { ...dave, body: {} });
    await api(400, 'POST', path, { ...dave, rawBody: '{' });
    await api(403, 'POST', `${path}?token=forged`, { body: {} });
    await api(404, 'POST', `/api/tasks/${UNKNOWN_ID}/signals/continue`, { ...dave, body: {} });
    await api(404, 'POST', `/api/tasks/${id}/signals/no-such-signal`, { ...dave, body: {} });
    await api(413, 'POST', path, { ...dave, rawBody: `"${'x'.repeat(20_000)}"` });
    await api(415, 'POST', path, { ...dave, rawBody: '{}', headers: { 'content-type': 'text/plain' } });
    const other = await waiting();
    await api(422, 'POST', `/api/tasks/${other}/signals/continue`, { ...dave, body: { note: 1 } });
    // The wake-up (slice 1, the one after the wait): the task runs on and ends.
    await runTaskSlice(
      { taskId: id, slice: 1 },
      new InvocationContext({ functionName: 'processTaskMessage' }),
    );
    await api(409, 'POST', path, { ...dave, body: { note: 'late' } });
  });

  it('stream tokens, uploads, task types, health', async () => {
    const alice = { key: keys.alice };
    await api(201, 'POST', '/api/stream-tokens', { ...alice, body: {} });
    await api(400, 'POST', '/api/stream-tokens', { ...alice, rawBody: '{' });
    await api(404, 'POST', '/api/stream-tokens', { ...alice, body: { taskId: UNKNOWN_ID } });
    await api(413, 'POST', '/api/stream-tokens', { ...alice, body: { taskId: 'x'.repeat(5_000) } });
    await api(415, 'POST', '/api/stream-tokens', {
      ...alice,
      rawBody: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    await api(422, 'POST', '/api/stream-tokens', { ...alice, body: { taskId: 'x' } });

    const upload = { filename: 'data.csv', contentType: 'text/csv', size: 10 };
    await api(201, 'POST', '/api/uploads', { ...alice, body: upload });
    await api(400, 'POST', '/api/uploads', { ...alice, rawBody: '{' });
    await api(413, 'POST', '/api/uploads', { ...alice, body: { ...upload, filename: 'x'.repeat(70_000) } });
    await api(415, 'POST', '/api/uploads', {
      ...alice,
      body: upload,
      headers: { 'content-type': 'text/csv' },
    });
    await api(422, 'POST', '/api/uploads', { ...alice, body: { ...upload, filename: 'a/b' } });

    await api(200, 'GET', '/api/task-types', alice);
    await api(200, 'GET', '/api/health');
    await api(200, 'GET', '/api/health/ready');
  });

  it('admin: stats, dead letters, retry', async () => {
    const admin = { key: keys.admin };
    const failed = await submit({ steps: 1, stepMs: 0, failAtStep: 0, failMode: 'permanent' });
    await work(failed);
    const queued = await submit({ steps: 1, stepMs: 0 });
    // A dead letter to list: one of the queued messages, dead-lettered by hand.
    const bus = new ServiceBusClient(stack.settings.ServiceBusConnection);
    const receiver = bus.createReceiver(stack.settings.TASKS_QUEUE ?? 'tasks');
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    await receiver.deadLetterMessage(message, {
      deadLetterReason: 'contract-test',
      deadLetterErrorDescription: 'by hand',
    });
    await bus.close();

    await api(200, 'GET', '/api/admin/stats', admin);
    const letters = (await api(200, 'GET', '/api/admin/dead-letters', admin)).items as Array<{
      sequenceNumber: string;
    }>;
    assert.equal(letters.length, 1);
    await api(400, 'GET', '/api/admin/dead-letters?limit=0', admin);
    await api(400, 'DELETE', '/api/admin/dead-letters/abc', admin);
    await api(404, 'DELETE', '/api/admin/dead-letters/999999', admin);
    await api(204, 'DELETE', `/api/admin/dead-letters/${letters[0].sequenceNumber}`, admin);

    await api(202, 'POST', `/api/admin/tasks/${failed}/retry`, admin);
    // A retry records a log event: with the run's status and progress events, every kind of event is checked.
    const events = await api(200, 'GET', `/api/tasks/${failed}/events`, { key: keys.alice });
    assert.ok((events.items as Array<{ type: string }>).some((e) => e.type === 'log'));
    await api(409, 'POST', `/api/admin/tasks/${queued}/retry`, admin);
    await api(400, 'POST', '/api/admin/tasks/not-a-uuid/retry', admin);
    await api(404, 'POST', `/api/admin/tasks/${UNKNOWN_ID}/retry`, admin);

    for (const [method, path] of [
      ['GET', '/api/admin/stats'],
      ['GET', '/api/admin/dead-letters'],
      ['DELETE', '/api/admin/dead-letters/1'],
      ['POST', `/api/admin/tasks/${UNKNOWN_ID}/retry`],
    ])
      await api(403, method, path, { key: keys.alice });
  });

  /** Every operation behind authentication, with a path that reaches its handler. */
  const authenticated = (): Array<[string, string, number, Call]> =>
    Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.responses['401'])
        .map(([method, operation]): [string, string, number, Call] => [
          method.toUpperCase(),
          path.replace('{id}', UNKNOWN_ID).replace('{sequenceNumber}', '1').replace('{name}', 'continue'),
          operation.responses['503'] ? SUBMITS : READS,
          method === 'post' ? { body: {} } : {},
        ]),
    );

  it('401 without a key and 429 over the rate limit, on every operation behind authentication', async () => {
    const operations = authenticated();
    assert.ok(operations.length >= 12, `${operations.length} operations`);
    for (const [method, path, , call] of operations) await api(401, method, path, call);
    // Spent by requests the contract checks too: refused submits, and reads of the task types.
    for (let i = 0; i < SUBMITS; i++)
      await api(422, 'POST', '/api/tasks', { key: keys.spender, body: { type: 'no-such-type' } });
    for (let i = 0; i < READS; i++) await api(200, 'GET', '/api/task-types', { key: keys.spender });
    for (const [method, path, , call] of operations)
      await api(429, method, path, { ...call, key: keys.spender });
  });

  it('problems outside any operation: the catch-all, oversized query and headers', async () => {
    await api(404, 'GET', '/no/such/route');
    await api(405, 'PUT', '/api/tasks');
    await api(404, 'GET', '/api/docs/no-such-file');
    await api(404, 'GET', '/ui/no-such-file');
    await api(414, 'GET', `/api/tasks?cursor=${'x'.repeat(5_000)}`, { key: keys.alice });
    await api(431, 'GET', '/api/health', { headers: { 'x-padding': 'x'.repeat(5_000) } });
  });

  it('every documented JSON response was checked', (t) => {
    const missing = checker
      .documentedJsonResponses()
      .filter((r) => !checker.covered.has(r) && !UNREACHED.has(r));
    assert.deepEqual(missing, []);
    const stale = [...UNREACHED.keys()].filter(
      (r) => checker.covered.has(r) || !checker.documentedJsonResponses().includes(r),
    );
    assert.deepEqual(stale, [], 'an unreached response that is reached now, or no longer documented');
    const operations = new Set([...checker.covered].map((r) => r.replace(/ \d+$/, '')));
    t.diagnostic(
      `contract: ${checked} JSON responses checked; ${checker.covered.size} documented responses of ` +
        `${operations.size} operations covered, ${UNREACHED.size} documented ones not reachable here`,
    );
  });
});
