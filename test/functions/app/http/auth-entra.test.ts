import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { LocalHost } from '../../../../local-dev/host';
import type { AppStack } from '../../../support/app-stack';
import { isFinished, startAppOnLocalHost, waitForTask } from '../../../support/engine-harness';
import {
  API_SCOPE,
  newSigningKey,
  startMockEntra,
  TENANT_ID,
  UI_CLIENT_ID,
  type MockEntra,
} from '../../../support/mock-entra';
import { readSse } from '../../../support/sse-client';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { exportSPKI, SignJWT } = require('jose') as typeof Jose;

/**
 * AUTH_MODE=entra over real HTTP, on the local host with the real stack. Microsoft Entra ID cannot run here, so a local
 * stand-in (test/support/mock-entra.ts) publishes the tenant's signing keys at ENTRA_AUTHORITY_HOST and signs tokens.
 */
describe('AUTH_MODE=entra: Entra ID access tokens, isolation between callers, admins and stream tokens', () => {
  let entra: MockEntra;
  let stack: AppStack;
  let host: LocalHost;
  const alice = { oid: 'a11ce000-0000-4000-8000-000000000001', name: 'Alice' };
  const bob = { oid: 'b0b00000-0000-4000-8000-000000000002', name: 'Bob' };
  const ops = { oid: '0e500000-0000-4000-8000-000000000003', name: 'Ops', roles: ['Longhaul.Admin'] };
  const tokenOf = (user: typeof alice & { roles?: string[] }) =>
    entra.accessToken({ oid: user.oid, roles: user.roles });

  const api = (path: string, token: string | undefined, init: RequestInit = {}) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
    });
  const submit = async (token: string, input: object = { steps: 1, stepMs: 0 }) => {
    const res = await api('/api/tasks', token, {
      method: 'POST',
      body: JSON.stringify({ type: 'simulate', input }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };

  before(async () => {
    entra = await startMockEntra();
    ({ stack, host } = await startAppOnLocalHost(entra.settings));
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
    await entra?.close();
  });

  it('answers 401 (not 500) while the key set cannot be fetched, warns without the token, then recovers', async () => {
    const warn = mock.method(console, 'warn', () => undefined);
    const token = await tokenOf(alice);
    try {
      entra.keySetDown = true;
      const res = await api('/api/tasks', token);
      assert.equal(res.status, 401);
      await res.body?.cancel();
    } finally {
      entra.keySetDown = false;
      warn.mock.restore();
    }
    const warnings = warn.mock.calls.map((c) => String(c.arguments[0]));
    assert.ok(warnings.some((w) => w.includes('entra: no signing keys from ')));
    assert.ok(!warnings.join('\n').includes(token));
    assert.equal((await api('/api/tasks', token)).status, 200);
  });

  it('accepts a genuine token; the tasks it submits belong to its oid', async () => {
    const token = await tokenOf(alice);
    const id = await submit(token);
    const { rows } = await stack.pool.query<{ owner: string }>('SELECT owner FROM tasks WHERE id = $1', [id]);
    assert.equal(rows[0].owner, alice.oid);
    const task = await api(`/api/tasks/${id}`, token);
    assert.equal(task.status, 200);
    assert.equal(task.headers.get('longhaul-auth-mode'), null);
    const ready = (await (await fetch(`${host.url}/api/health/ready`)).json()) as { authMode: string };
    assert.equal(ready.authMode, 'entra');
  });

  it('tells the web UI how to sign in (public values only) and lets it reach the authority', async () => {
    const config = await fetch(`${host.url}/ui/config.json`);
    assert.equal(config.status, 200);
    assert.deepEqual(await config.json(), {
      authMode: 'entra',
      entra: { authorityHost: entra.url, tenantId: TENANT_ID, clientId: UI_CLIENT_ID, scope: API_SCOPE },
    });
    const page = await fetch(`${host.url}/`);
    await page.body?.cancel();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`connect-src 'self' [^;]* ${entra.url}(;|$)`));
    assert.match(csp, /default-src 'self'/);
    const msal = await fetch(`${host.url}/ui/vendor/msal-browser.min.js`);
    assert.equal(msal.status, 200);
    assert.match(msal.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match((await msal.text()).slice(0, 100), /@azure\/msal-browser v5\./);
  });

  it('missing, malformed, expired, early, foreign, forged and confused tokens all get the same 401', async () => {
    const genuine = await tokenOf(alice);
    const [, payload] = genuine.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const other = await newSigningKey();
    const attempts: Record<string, Record<string, string>> = {
      missing: {},
      'Basic credentials': { authorization: 'Basic dXNlcjpwYXNz' },
      'Bearer without a token': { authorization: 'Bearer' },
      'two tokens': { authorization: `Bearer ${genuine} ${genuine}` },
      'not a JWT': { authorization: 'Bearer not-a-token' },
      'an API key header instead': { 'x-api-key': genuine },
      expired: { authorization: `Bearer ${await entra.accessToken({}, { expiresIn: -300 })}` },
      'not yet valid': { authorization: `Bearer ${await entra.accessToken({}, { notBefore: 300 })}` },
      'wrong audience': { authorization: `Bearer ${await entra.accessToken({ aud: 'api://other' })}` },
      'wrong issuer': {
        authorization: `Bearer ${await entra.accessToken({ iss: `https://login.microsoftonline.com/${TENANT_ID}/v2.0` })}`,
      },
      'wrong signature': {
        authorization: `Bearer ${await entra.accessToken({}, { key: other, kid: entra.key.kid })}`,
      },
      'unknown kid': { authorization: `Bearer ${await entra.accessToken({}, { key: other })}` },
      'alg none': {
        authorization: `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      },
      'HS256 keyed with the public key': {
        authorization: `Bearer ${await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: entra.key.kid })
          .sign(new TextEncoder().encode(await exportSPKI(entra.key.pair.publicKey)))}`,
      },
    };
    const bodies = new Set<string>();
    for (const [why, headers] of Object.entries(attempts)) {
      const res = await fetch(`${host.url}/api/tasks`, { headers });
      assert.equal(res.status, 401, why);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', why);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', why);
      const text = await res.text();
      assert.ok(!text.includes(payload), 'the token is never echoed');
      bodies.add(text);
    }
    assert.equal(bodies.size, 1, 'one body for every failure: no hint which part was wrong');
    assert.match(
      [...bodies][0],
      /Microsoft Entra ID access token is required: Authorization: Bearer <token>/,
    );
  });

  it("a user gets 404 for another oid's task on every endpoint; the Longhaul.Admin role sees every task", async () => {
    const [aliceToken, bobToken, adminToken] = await Promise.all([
      tokenOf(alice),
      tokenOf(bob),
      tokenOf(ops),
    ]);
    const alices = await submit(aliceToken);
    await waitForTask(stack, alices, isFinished);
    const bobs = await submit(bobToken);
    const endpoints: Array<[string, string, Record<string, string>?]> = [
      ['GET', `/api/tasks/${alices}`],
      ['GET', `/api/tasks/${alices}/result`],
      ['GET', `/api/tasks/${alices}/events`],
      ['GET', `/api/tasks/${alices}/events`, { accept: 'text/event-stream' }],
      ['DELETE', `/api/tasks/${alices}`],
    ];
    for (const [method, path, headers] of endpoints) {
      const res = await api(path, bobToken, { method, headers });
      assert.equal(res.status, 404, `bob: ${method} ${path}`);
      await res.body?.cancel();
      const asAdmin = await api(path, adminToken, { method, headers });
      assert.equal(asAdmin.status, method === 'DELETE' ? 409 : 200, `admin: ${method} ${path}`);
      await asAdmin.body?.cancel();
    }
    const listOf = async (token: string) =>
      ((await (await api('/api/tasks', token)).json()) as { items: Array<{ id: string }> }).items.map(
        (t) => t.id,
      );
    assert.deepEqual(await listOf(bobToken), [bobs]);
    const adminList = await listOf(adminToken);
    assert.ok(adminList.includes(alices) && adminList.includes(bobs));
  });

  it('stream tokens work in entra mode: one opens its task stream only', async () => {
    const token = await tokenOf(alice);
    const a = await submit(token, { steps: 2, stepMs: 0 });
    const b = await submit(token, { steps: 2, stepMs: 0 });
    await waitForTask(stack, a, isFinished);
    const issued = await api('/api/stream-tokens', token, {
      method: 'POST',
      body: JSON.stringify({ taskId: a }),
    });
    assert.equal(issued.status, 201);
    const streamToken = encodeURIComponent(((await issued.json()) as { token: string }).token);
    const opened = await readSse(`${host.url}/api/tasks/${a}/events?token=${streamToken}`, {
      until: (m) => m.some((x) => x.event === 'end'),
    });
    assert.equal(opened.status, 200);
    assert.ok(opened.messages.some((m) => m.event === 'end'));
    for (const path of [`/api/tasks/${b}/events`, '/api/events', `/api/tasks/${a}`]) {
      const res = await fetch(`${host.url}${path}?token=${streamToken}`, {
        headers: { accept: 'text/event-stream' },
      });
      assert.equal(res.status, 401, path);
      await res.body?.cancel();
    }
    // An Entra token in the query string is no stream token.
    const raw = await fetch(`${host.url}/api/tasks/${a}/events?token=${token}`, {
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(raw.status, 401);
    await raw.body?.cancel();
  });
});
