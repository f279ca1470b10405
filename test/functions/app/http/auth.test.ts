import assert from 'node:assert/strict';
import { startAppHost } from '../../../support/app-host';
import { after, before, describe, it } from 'node:test';
import type { LocalHost } from '../../../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../../../support/api-keys';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { isFinished, waitForTask } from '../../../support/engine-harness';
import { readSse } from '../../../support/sse-client';

interface Problem {
  status: number;
  detail: string;
}

describe('AUTH_MODE=apikey: API keys, isolation between callers, admins and stream tokens', () => {
  let stack: AppStack;
  let host: LocalHost;
  const logs: string[] = [];
  const keys: Record<'alice' | 'bob' | 'admin', string> = { alice: '', bob: '', admin: '' };

  const api = (path: string, key: string | undefined, init: RequestInit = {}) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
    });
  const submit = async (key: string, input: object = { steps: 1, stepMs: 0 }) => {
    const res = await api('/api/tasks', key, {
      method: 'POST',
      body: JSON.stringify({ type: 'simulate', input }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };
  const streamToken = async (key: string, taskId?: string) => {
    const res = await api('/api/stream-tokens', key, {
      method: 'POST',
      body: JSON.stringify(taskId ? { taskId } : {}),
    });
    return { status: res.status, body: (await res.json()) as { token: string; expiresAt: string } };
  };

  before(async () => {
    stack = await startAppStack(APIKEY_SETTINGS);
    host = await startAppHost(stack.settings, { log: (l) => logs.push(l) });
    keys.alice = (await keysCli('create', '--owner', 'alice', '--name', 'laptop')).key;
    keys.bob = (await keysCli('create', '--owner', 'bob')).key;
    keys.admin = (await keysCli('create', '--owner', 'ops', '--role', 'admin')).key;
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('npm run keys creates random keys stored only as a hash, lists and revokes them', async () => {
    assert.match(keys.alice, /^lh_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(keys.alice, keys.bob);
    const { rows } = await stack.pool.query<{ hash: string; prefix: string }>(
      'SELECT hash, prefix FROM api_keys',
    );
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.ok(!Object.values(keys).includes(row.hash));
      assert.ok(
        keys.alice.startsWith(row.prefix) ||
          keys.bob.startsWith(row.prefix) ||
          keys.admin.startsWith(row.prefix),
      );
    }
    const listed = await keysCli('list');
    assert.equal(listed.code, 0);
    assert.equal(listed.lines.length, 3);
    assert.ok(listed.lines.some((l) => / alice {2}user {2}laptop /.test(l)));
    assert.ok(!listed.lines.join('\n').includes(keys.alice), 'list never shows a key');
    assert.equal((await keysCli('create')).code, 2, 'usage without --owner');
    assert.equal(
      (await keysCli('create', '--owner', 'x', '--role', 'root')).code,
      2,
      'usage with a bad role',
    );
  });

  it('missing, malformed, unknown and revoked keys all get the same 401 with WWW-Authenticate: Bearer', async () => {
    const spare = (await keysCli('create', '--owner', 'carol')).key;
    const spareId = (await keysCli('list')).lines.find((l) => l.includes(' carol '))?.split(' ')[0] as string;
    assert.equal((await api('/api/tasks', spare)).status, 200);
    assert.deepEqual((await keysCli('revoke', spareId)).lines, [`revoked ${spareId}`]);
    assert.equal((await keysCli('revoke', spareId)).code, 1, 'a key is revoked once');
    const unknown = `lh_${'A'.repeat(43)}`;
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${keys.alice} extra` },
      { authorization: 'Bearer not-a-key' },
      { authorization: `Bearer ${unknown}` },
      { authorization: `Bearer ${keys.alice.slice(0, -1)}B` },
      { 'x-api-key': unknown },
      { authorization: `Bearer ${spare}` },
    ];
    const details = new Set<string>();
    for (const headers of attempts) {
      const res = await fetch(`${host.url}/api/tasks`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const text = await res.text();
      for (const key of [keys.alice, spare, unknown])
        assert.ok(!text.includes(key), 'the key is never echoed');
      details.add((JSON.parse(text) as Problem).detail);
    }
    assert.equal(details.size, 1, 'one generic detail, no hint which part was wrong');
    assert.equal((await api('/api/stream-tokens', undefined, { method: 'POST', body: '{}' })).status, 401);
  });

  it('accepts Authorization: Bearer and X-Api-Key, and records last use at most once a minute', async () => {
    assert.equal((await api('/api/tasks', keys.alice)).status, 200);
    assert.equal(
      (await fetch(`${host.url}/api/tasks`, { headers: { 'x-api-key': keys.alice } })).status,
      200,
    );
    const lastUsed = async () =>
      (await stack.pool.query<{ at: Date }>(`SELECT last_used_at AS at FROM api_keys WHERE owner = 'alice'`))
        .rows[0].at;
    const first = await lastUsed();
    assert.ok(first instanceof Date);
    await api('/api/tasks', keys.alice);
    assert.deepEqual(await lastUsed(), first);
    assert.equal((await api('/api/tasks', keys.alice)).headers.get('longhaul-auth-mode'), null);
  });

  it("every task endpoint answers 404 for another caller's task; admins see and act on every task", async () => {
    const finished = await submit(keys.alice);
    await waitForTask(stack, finished, isFinished);
    const running = await submit(keys.alice, { steps: 200, stepMs: 100 });
    const bobs = await submit(keys.bob);
    const endpoints = (id: string): Array<[string, string, Record<string, string>?]> => [
      ['GET', `/api/tasks/${id}`],
      ['GET', `/api/tasks/${id}/result`],
      ['GET', `/api/tasks/${id}/events`],
      ['GET', `/api/tasks/${id}/events`, { accept: 'text/event-stream' }],
      ['DELETE', `/api/tasks/${id}`],
      ['GET', `/api/tasks/${id}/input`],
      ['GET', `/api/tasks/${id}/steps`],
      ['POST', `/api/tasks/${id}/retry`],
      ['POST', `/api/tasks/${id}/rerun`],
    ];
    const ownerAnswer: Record<string, number> = { DELETE: 409, 'POST retry': 409, 'POST rerun': 202 };
    for (const id of [finished, running]) {
      for (const [method, path, headers] of endpoints(id)) {
        const res = await api(path, keys.bob, { method, headers });
        assert.equal(res.status, 404, `bob: ${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        await res.body?.cancel();
      }
      assert.equal((await streamToken(keys.bob, id)).status, 404, 'no stream token for it either');
    }
    const bobList = (await (await api('/api/tasks', keys.bob)).json()) as { items: Array<{ id: string }> };
    assert.deepEqual(
      bobList.items.map((t) => t.id),
      [bobs],
    );
    const aliceList = (await (await api('/api/tasks', keys.alice)).json()) as {
      items: Array<{ id: string }>;
    };
    assert.ok(!aliceList.items.some((t) => t.id === bobs));
    // Counts and bulk actions cover the caller's own tasks only, whatever the filter says.
    const bobCounts = (await (await api('/api/tasks/counts', keys.bob)).json()) as { total: number };
    assert.equal(bobCounts.total, 1);
    const bobBulk = await api('/api/tasks/bulk/cancel', keys.bob, {
      method: 'POST',
      body: JSON.stringify({ filter: { idPrefix: running.slice(0, 13) } }),
    });
    assert.equal(bobBulk.status, 200);
    assert.deepEqual(((await bobBulk.json()) as { affected: string[] }).affected, []);

    // Alice's own task on every endpoint, then the admin on hers and Bob's.
    for (const key of [keys.alice, keys.admin]) {
      for (const [method, path, headers] of endpoints(finished)) {
        const res = await api(path, key, { method, headers });
        const expected = ownerAnswer[method === 'POST' ? `POST ${path.split('/').pop()}` : method] ?? 200;
        assert.equal(res.status, expected, `${method} ${path} ${JSON.stringify(headers)}`);
        await res.body?.cancel();
      }
    }
    const adminList = (await (await api('/api/tasks', keys.admin)).json()) as {
      items: Array<{ id: string }>;
    };
    for (const id of [finished, running, bobs])
      assert.ok(
        adminList.items.some((t) => t.id === id),
        id,
      );
    const cancelled = await api(`/api/tasks/${running}`, keys.admin, { method: 'DELETE' });
    assert.equal(cancelled.status, 202);
    assert.equal(((await cancelled.json()) as { cancelRequested: boolean }).cancelRequested, true);

    // Bob's multiplexed stream carries none of Alice's tasks.
    const stream = await readSse(`${host.url}/api/events`, {
      headers: { authorization: `Bearer ${keys.bob}` },
      until: (m) => m.some((x) => x.event === 'snapshot'),
    });
    assert.equal(stream.status, 200);
    const snapshot = stream.messages.find((m) => m.event === 'snapshot');
    const ids = (JSON.parse(snapshot?.data ?? '{}') as { tasks: Array<{ id: string }> }).tasks.map(
      (t) => t.id,
    );
    assert.ok(!ids.includes(running) && !ids.includes(finished));
  });

  it("an admin's GET /api/events carries every owner's tasks, live; a user's carries only its own", async () => {
    const open = (key: string, until: (m: Array<{ event: string; data: string }>) => boolean) =>
      readSse(`${host.url}/api/events`, { headers: { authorization: `Bearer ${key}` }, until });
    const endOf = (id: string) => (m: Array<{ event: string; data: string }>) =>
      m.some((x) => x.event === 'status' && x.data.includes(id) && x.data.includes('succeeded'));
    // Both streams are open before the tasks exist, so what they carry can only have come live.
    const aliceTask = submit(keys.alice, { steps: 3, stepMs: 300 });
    const ids = { alice: '', bob: '' };
    const adminStream = open(keys.admin, (m) => Boolean(ids.bob) && endOf(ids.alice)(m) && endOf(ids.bob)(m));
    const bobStream = open(keys.bob, (m) => Boolean(ids.bob) && endOf(ids.bob)(m));
    ids.alice = await aliceTask;
    ids.bob = await submit(keys.bob, { steps: 3, stepMs: 300 });
    const [admin, bob] = await Promise.all([adminStream, bobStream]);
    const carried = (messages: Array<{ event: string; data: string }>) =>
      new Set(
        messages
          .filter((m) => m.event === 'status' || m.event === 'progress')
          .map((m) => (JSON.parse(m.data) as { taskId: string }).taskId),
      );
    assert.ok(carried(admin.messages).has(ids.alice) && carried(admin.messages).has(ids.bob));
    assert.ok(carried(bob.messages).has(ids.bob));
    assert.ok(!carried(bob.messages).has(ids.alice), 'a user never sees another owner’s events');
  });

  it('stream tokens open the one SSE URL they were made for, and only as a stream', async () => {
    const a = await submit(keys.alice, { steps: 2, stepMs: 0 });
    const b = await submit(keys.alice, { steps: 2, stepMs: 0 });
    await waitForTask(stack, a, isFinished);
    const issued = await streamToken(keys.alice, a);
    assert.equal(issued.status, 201);
    const ttl = Date.parse(issued.body.expiresAt) - Date.now();
    assert.ok(ttl > 4 * 60_000 && ttl <= 5 * 60_000, `expires in five minutes (${ttl} ms)`);
    const token = encodeURIComponent(issued.body.token);

    const opened = await readSse(`${host.url}/api/tasks/${a}/events?token=${token}`, {
      until: (m) => m.some((x) => x.event === 'end'),
    });
    assert.equal(opened.status, 200);
    assert.ok(opened.messages.some((m) => m.event === 'end'));

    const refused = [
      [`/api/tasks/${b}/events?token=${token}`, { accept: 'text/event-stream' }],
      [`/api/events?token=${token}`, { accept: 'text/event-stream' }],
      [`/api/tasks/${a}/events?token=${token}`, {}],
      [`/api/tasks/${a}?token=${token}`, {}],
      [`/api/tasks/${a}/result?token=${token}`, {}],
      [`/api/tasks?token=${token}`, {}],
      [`/api/tasks/${a}/events?token=${token.slice(0, -2)}xx`, { accept: 'text/event-stream' }],
    ] as const;
    for (const [path, headers] of refused) {
      const res = await fetch(`${host.url}${path}`, { headers });
      assert.equal(res.status, 401, path);
      await res.body?.cancel();
    }

    const callerToken = await streamToken(keys.alice);
    assert.equal(callerToken.status, 201);
    const multiplexed = await readSse(
      `${host.url}/api/events?token=${encodeURIComponent(callerToken.body.token)}`,
      {
        until: (m) => m.some((x) => x.event === 'snapshot'),
      },
    );
    assert.equal(multiplexed.status, 200);
    const refusedTask = await fetch(
      `${host.url}/api/tasks/${a}/events?token=${encodeURIComponent(callerToken.body.token)}`,
      { headers: { accept: 'text/event-stream' } },
    );
    assert.equal(refusedTask.status, 401, "the caller's token does not open a task stream");

    const bad = await streamToken(keys.alice, 'not-a-uuid');
    assert.equal(bad.status, 422);

    const logged = logs.join('\n');
    for (const secret of [issued.body.token, token, callerToken.body.token, ...Object.values(keys)]) {
      assert.ok(!logged.includes(secret), 'no token or key in the request log');
    }
    assert.match(logged, /token=REDACTED/);
  });

  it('health and API docs stay public; readiness reports the mode', async () => {
    assert.equal((await fetch(`${host.url}/api/health`)).status, 200);
    const ready = (await (await fetch(`${host.url}/api/health/ready`)).json()) as { authMode: string };
    assert.equal(ready.authMode, 'apikey');
    assert.equal((await fetch(`${host.url}/api/openapi.json`)).status, 200);
    assert.equal((await fetch(`${host.url}/api/task-types`)).status, 401);
  });
});
