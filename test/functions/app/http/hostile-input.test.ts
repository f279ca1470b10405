import assert from 'node:assert/strict';
import { startAppHost } from '../../../support/app-host';
import { readdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LocalHost } from '../../../../local-dev/host';
import { findRepoRoot } from '../../../../local-dev/services/repo-root';
import { APIKEY_SETTINGS, keysCli } from '../../../support/api-keys';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { waitForTask } from '../../../support/engine-harness';
import { rawRequest } from '../../../support/hostile-raw';
import { hostileRequest, type HostileFixture, type HostileRequest } from '../../../support/hostile-requests';
import { sendHttp, sendRaw, type WireResponse } from '../../../support/hostile-wire';
import { until } from '../../../support/until';

/**
 * Property-based fuzzing of every route (issue 8): thousands of generated hostile requests, with real API keys, none
 * or garbage ones. `HOSTILE_SEED` and `HOSTILE_RUNS` replay a failure (fast-check prints its seed and path).
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 20261127);
/** Batches of BATCH concurrent requests: 400 × 8 = 3 200 requests. */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 400);
const BATCH = 8;
const RAW_RUNS = 200;
/** Low enough that the generated few-hundred-KB bodies cross it (413). */
const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Statuses whose problem is about one input, which the API names in `field` (docs/api.md). */
const FIELD_STATUSES = new Set([400, 413, 415, 422]);

/** What is wrong with an answer of the app, or undefined: the contract of docs/api.md for every response. */
function violation(
  res: WireResponse,
  { method, target, mayPass }: { method: string; target: string; mayPass: boolean },
  secrets: string[],
): string | undefined {
  if (res.status >= 500) return `a ${res.status}`;
  if (res.status < 400)
    return mayPass ? undefined : `a ${res.status} for a request that is invalid by construction`;
  if (res.headers['x-content-type-options'] !== 'nosniff') return 'no security headers';
  if (!/^application\/problem\+json(;|$)/.test(res.headers['content-type'] ?? '')) {
    return `a ${res.status} that is not application/problem+json but ${res.headers['content-type']}`;
  }
  if (method === 'HEAD') return undefined;
  const text = res.body.toString('utf8');
  if (secrets.some((s) => text.includes(s))) return 'a key echoed in the problem';
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `a problem body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (typeof body.type !== 'string' || !body.type.startsWith('urn:longhaul:problem:'))
    return 'no problem type';
  if (typeof body.title !== 'string' || body.title === '') return 'no title';
  if (body.status !== res.status) return `status ${String(body.status)} in a ${res.status}`;
  if (typeof body.detail !== 'string') return 'no detail';
  // A 422's `field` is the first failing JSON path, where '' is the body itself (unknown keys, not an object); a
  // query parameter can be named '' too (`?=x`).
  const emptyName = res.status === 422 || /[?&]=/.test(target);
  if (
    FIELD_STATUSES.has(res.status) &&
    (typeof body.field !== 'string' || (body.field === '' && !emptyName))
  ) {
    return `a ${res.status} that names no field`;
  }
  if (res.status === 422) {
    const errors = body.errors as Array<{ path: unknown; message: unknown }> | undefined;
    if (!Array.isArray(errors) || errors.length === 0) return 'a 422 without errors';
    if (!errors.every((e) => typeof e.path === 'string' && typeof e.message === 'string'))
      return 'malformed errors';
  }
  return undefined;
}

/**
 * fc.assert, with the failing request's own error in the message (node:test shows no `cause`) next to the seed and
 * path that replay it.
 */
async function check<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const details = await fc.check(property, { seed: SEED, numRuns });
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}\nreplay: HOSTILE_SEED=${SEED}`,
    );
  }
}

/** The request as a reproducible line, without the real keys and with long values cut. */
function describeRequest(req: HostileRequest): string {
  const cut = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…(${s.length})` : s);
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, cut(v)]));
  const body = req.body && cut(JSON.stringify(req.body.toString('latin1')));
  return `${req.method} ${cut(req.target)} as ${req.credential} headers=${JSON.stringify(headers)} body=${body}`;
}

describe('hostile input on every route (AUTH_MODE=apikey)', () => {
  let stack: AppStack;
  let host: LocalHost;
  let agent: Agent;
  let fixture: HostileFixture;
  const logs: string[] = [];
  const keys = { alice: '', bob: '' };
  /** Requests by endpoint and status, for the report. */
  const tally = new Map<string, number>();
  let before_: { counts: object; apiKeys: unknown[] };

  const apiKeysRows = async () =>
    (
      await stack.pool.query(
        'SELECT id, prefix, hash, owner, role, name, created_at, revoked_at FROM api_keys ORDER BY id',
      )
    ).rows as unknown[];
  const submit = async (key: string) => {
    const res = await fetch(`${host.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', input: { steps: 1, stepMs: 0 } }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };
  /** Counts once the queue has drained: the fixture's messages are settled by the host's worker. */
  const settledCounts = async () => {
    for (let i = 0; ; i++) {
      const counts = await stack.counts();
      if (counts.messages === 0 || i === 100) return counts;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    stack = await startAppStack({ ...APIKEY_SETTINGS, MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) });
    host = await startAppHost(stack.settings, { log: (l) => logs.push(l) });
    agent = new Agent({ keepAlive: true, maxSockets: BATCH });
    keys.alice = (await keysCli('create', '--owner', 'alice')).key;
    keys.bob = (await keysCli('create', '--owner', 'bob')).key;
    const aliceTask = await submit(keys.alice);
    assert.equal((await waitForTask(stack, aliceTask, (t) => t.status === 'succeeded')).status, 'succeeded');
    const types = (await (
      await fetch(`${host.url}/api/task-types`, { headers: { authorization: `Bearer ${keys.alice}` } })
    ).json()) as Array<{ type: string }>;
    const uiFiles = readdirSync(join(findRepoRoot(), 'functions', 'ui')).filter((f) =>
      /\.(html|js|css|svg)$/.test(f),
    );
    fixture = { aliceTask, taskTypes: types.map((t) => t.type), uiFiles: [...uiFiles, 'config.json'] };
    before_ = { counts: await settledCounts(), apiKeys: await apiKeysRows() };
  });
  after(async () => {
    agent?.destroy();
    await host?.close();
    await stack?.stop();
  });

  it(`answers ${RUNS * BATCH} generated hostile requests with no 5xx, problem+json 4xx, and 2xx only to valid ones`, async (t) => {
    const started = performance.now();
    const secrets = [keys.alice, keys.bob];
    const send = async (req: HostileRequest) => {
      const headers = { ...req.headers };
      if (req.credential === 'alice' || req.credential === 'bob') {
        const key = keys[req.credential];
        headers[req.keyHeader] = req.keyHeader === 'authorization' ? `Bearer ${key}` : key;
      }
      const res = await sendHttp(agent, host.port, {
        method: req.method,
        target: req.target,
        headers,
        body: req.body,
      });
      const label = `${req.endpoint}\t${res.status}`;
      tally.set(label, (tally.get(label) ?? 0) + 1);
      const wrong = violation(res, req, secrets);
      if (wrong) {
        throw new Error(
          `${wrong}\n  request: ${describeRequest(req)}\n  response: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`,
        );
      }
    };
    await check(
      fc.asyncProperty(
        fc.array(hostileRequest(fixture), { minLength: BATCH, maxLength: BATCH }),
        async (batch) => {
          await Promise.all(batch.map(send));
        },
      ),
      RUNS,
    );
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`seed ${SEED}: ${total} requests in ${Math.round(performance.now() - started)} ms`);
    const byEndpoint = new Map<string, string[]>();
    for (const [label, n] of [...tally].sort()) {
      const [endpoint, status] = label.split('\t');
      byEndpoint.set(endpoint, [...(byEndpoint.get(endpoint) ?? []), `${status}×${n}`]);
    }
    for (const [endpoint, counts] of byEndpoint) t.diagnostic(`${endpoint}: ${counts.join(' ')}`);
    assert.ok(total >= RUNS * BATCH);
  });

  it(`answers ${RAW_RUNS} malformed requests on raw sockets with a 4xx or by closing, never a 5xx or a task`, async (t) => {
    const outcomes = new Map<string, number>();
    await check(
      fc.asyncProperty(rawRequest(keys.alice), async (raw) => {
        const responses = await sendRaw(host.port, raw.bytes);
        const fromApp = responses.filter((r) => r.headers['x-content-type-options'] === 'nosniff');
        const key = `${responses.map((r) => `${r.status}${fromApp.includes(r) ? '' : ' (before the app)'}`).join(', ') || 'closed'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        for (const res of responses) {
          assert.ok(
            res.status < 500,
            `${raw.label}: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`,
          );
          assert.ok(
            !res.body.toString('utf8').includes(fixture.aliceTask),
            `${raw.label}: task data without a key`,
          );
          // Refusals of the HTTP parser and the host's router come before any handler, with no body to check.
          if (fromApp.includes(res) && res.status >= 400) {
            const wrong = violation(res, { method: 'GET', target: '', mayPass: false }, [
              keys.alice,
              keys.bob,
            ]);
            assert.equal(wrong, undefined, `${raw.label}: ${wrong}`);
          }
        }
      }),
      RAW_RUNS,
    );
    for (const [outcome, n] of [...outcomes].sort())
      t.diagnostic(`${String(n).padStart(5)}  raw: ${outcome}`);
  });

  it('answers a body cut off before its Content-Length with a 400, and no API docs file named after Object.prototype', async () => {
    for (const file of ['constructor', '__proto__', 'toString']) {
      const res = await fetch(`${host.url}/api/docs/${file}`);
      assert.equal(res.status, 404, file);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    const answered = (status: number) =>
      logs.filter((l) => l.startsWith("Executed 'submitTask'") && l.endsWith(`POST /api/tasks ${status}`))
        .length;
    const before400 = answered(400);
    await sendRaw(
      host.port,
      Buffer.from(
        `POST /api/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alice}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":',
      ),
    );
    await until(() => answered(400) !== before400, 2_000);
    assert.equal(answered(400), before400 + 1, 'the handler answered 400 (the client had gone)');
    assert.equal(answered(500), 0);
  });

  it('changed nothing: no task, payload blob, queued message or API key was written, no prototype polluted', async () => {
    assert.deepEqual(await settledCounts(), before_.counts);
    assert.deepEqual(await apiKeysRows(), before_.apiKeys);
    for (const name of ['polluted', 'isAdmin']) assert.equal(name in {}, false, `Object.prototype.${name}`);
    const failures = logs.filter((l) => /\(Failed,|failed: |Executed '.*' .* 5\d\d$/.test(l));
    assert.deepEqual(failures, [], 'no invocation failed or answered 5xx');
  });

  it('still serves afterwards: health is 200 and a valid submit is accepted and runs to success', async () => {
    assert.equal((await fetch(`${host.url}/api/health`)).status, 200);
    const id = await submit(keys.bob);
    assert.equal((await waitForTask(stack, id, (t) => t.status === 'succeeded')).status, 'succeeded');
  });
});
