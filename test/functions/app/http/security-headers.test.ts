import assert from 'node:assert/strict';
import { startAppHost } from '../../../support/app-host';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { triggers } from '../../../../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../../../../local-dev/host';
import { findRepoRoot } from '../../../../local-dev/services/repo-root';
import { APIKEY_SETTINGS, keysCli } from '../../../support/api-keys';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { readSse } from '../../../support/sse-client';

const ALLOWED = 'https://app.example.com';
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The headers every response must carry, whatever produced it. */
function assertSecurityHeaders(headers: Headers, what: string): void {
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('cross-origin-opener-policy'), 'same-origin', what);
  assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
  assert.equal(headers.get('strict-transport-security'), null, `${what}: no HSTS over plain HTTP`);
}

function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A raw request: fetch (undici) refuses some header sizes itself and normalizes what it sends. */
function rawRequest(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP hardening: security headers, CORS, header/query/JSON-depth limits', () => {
  let stack: AppStack;
  let host: LocalHost;
  let key = '';
  const logs: string[] = [];

  const api = (path: string, init: RequestInit = {}, withKey = true) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        ...(withKey ? { authorization: `Bearer ${key}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
    });

  before(async () => {
    stack = await startAppStack({
      ...APIKEY_SETTINGS,
      CORS_ALLOWED_ORIGINS: `${ALLOWED}, http://localhost:5173`,
    });
    host = await startAppHost(stack.settings, { log: (l) => logs.push(l) });
    key = (await keysCli('create', '--owner', 'alice')).key;
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('sets the security headers and the API CSP on a 200 JSON, a 404 problem and a 401 problem', async () => {
    const ok = await api('/api/task-types');
    assert.equal(ok.status, 200);
    assertSecurityHeaders(ok.headers, '200');
    assert.equal(ok.headers.get('content-security-policy'), API_CSP);

    const missing = await api('/api/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    assertSecurityHeaders(missing.headers, '404');
    assert.equal(missing.headers.get('content-security-policy'), API_CSP);

    const unauthenticated = await api('/api/tasks', {}, false);
    assert.equal(unauthenticated.status, 401);
    assertSecurityHeaders(unauthenticated.headers, '401');
  });

  it('sets them on an SSE stream', async () => {
    const sse = await readSse(`${host.url}/api/events`, {
      headers: { authorization: `Bearer ${key}` },
      until: (m) => m.some((x) => x.event === 'snapshot'),
    });
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assertSecurityHeaders(sse.headers, 'SSE');
  });

  it('keeps the stricter page policies of the web UI and Swagger UI, with the other headers added', async () => {
    for (const path of ['/', '/ui/app.js', '/api/docs']) {
      const res = await fetch(`${host.url}${path}`);
      await res.arrayBuffer();
      assert.equal(res.status, 200, path);
      assertSecurityHeaders(res.headers, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /^default-src 'self'/, path);
      assert.match(csp, /object-src 'none'/, path);
    }
  });

  it('sends HSTS only when the request came over HTTPS (x-forwarded-proto from the front end)', async () => {
    const https = await api('/api/health', { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(https.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
    const http = await api('/api/health', { headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(http.headers.get('strict-transport-security'), null);
  });

  it('answers an allowed origin with CORS headers, and a disallowed one with none', async () => {
    const allowed = await api('/api/task-types', { headers: { origin: ALLOWED } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(allowed.headers.get('vary') ?? '', /Origin/);
    const exposed = allowed.headers.get('access-control-expose-headers') ?? '';
    for (const name of ['Location', 'Retry-After', 'RateLimit-Remaining', 'Idempotent-Replayed']) {
      assert.ok(exposed.includes(name), name);
    }

    const foreign = await api('/api/task-types', { headers: { origin: 'https://evil.example.net' } });
    assert.equal(foreign.status, 200);
    assert.deepEqual(
      [...foreign.headers.keys()].filter((h) => h.startsWith('access-control-')),
      [],
    );
    // The UI is the app's own page: never offered cross-origin.
    const page = await fetch(`${host.url}/`, { headers: { origin: ALLOWED } });
    assert.equal(page.headers.get('access-control-allow-origin'), null);
  });

  it('answers preflights without credentials: 204 for an allowed origin, 403 problem for another', async () => {
    const preflight = (origin: string) =>
      fetch(`${host.url}/api/tasks`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });
    const ok = await preflight(ALLOWED);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowHeaders = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const name of ['authorization', 'content-type', 'idempotency-key', 'x-api-key', 'last-event-id']) {
      assert.ok(allowHeaders.includes(name), name);
    }
    assert.equal(ok.headers.get('access-control-max-age'), '600');
    assertSecurityHeaders(ok.headers, 'preflight');

    const refused = await preflight('https://evil.example.net');
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    assert.equal(((await refused.json()) as { field: string }).field, 'origin');
  });

  it('refuses headers over MAX_HEADER_BYTES with a 431 problem naming the headers', async () => {
    const res = await rawRequest(host.url, '/api/task-types', {
      authorization: `Bearer ${key}`,
      'x-padding': 'x'.repeat(17 * 1024),
    });
    assert.equal(res.status, 431);
    const body = JSON.parse(res.body) as { field: string; status: number };
    assert.equal(body.field, 'headers');
    assert.equal(body.status, 431);
  });

  it('refuses a query string over 4096 bytes with a 414 problem', async () => {
    const res = await api(`/api/tasks?cursor=${'a'.repeat(5000)}`);
    assert.equal(res.status, 414);
    assert.equal(((await res.json()) as { field: string }).field, 'query');
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH (32) with 400 field body; 31 levels get past it', async () => {
    // Depth counts the body (1) and `input` (2); `padding` adds the rest. Simulate's input takes no unknown key, so a
    // body within the limit reaches validation and fails there instead (422 on input): proof it got past the check.
    const submit = (levels: number) =>
      api('/api/tasks', {
        method: 'POST',
        body: JSON.stringify({
          type: 'simulate',
          input: { steps: 1, stepMs: 0, padding: nested(levels - 2) },
        }),
      });
    const deep = await submit(33);
    assert.equal(deep.status, 400);
    const problem = (await deep.json()) as { field: string; type: string };
    assert.equal(problem.field, 'body');
    assert.equal(problem.type, 'urn:longhaul:problem:json-too-deep');

    const within = await submit(31);
    assert.equal(within.status, 422);
    assert.equal(((await within.json()) as { field: string }).field, 'input');
    // Brackets inside strings are text, not nesting.
    const text = await api('/api/tasks', {
      method: 'POST',
      body: JSON.stringify({ type: '[{"\\'.repeat(50), input: { steps: 1, stepMs: 0 } }),
    });
    assert.notEqual(((await text.json()) as { type: string }).type, 'urn:longhaul:problem:json-too-deep');
  });

  it('logs no credentials: the request log shows neither the API key nor a stream token', async () => {
    await api('/api/events?token=abc.def-not-a-real-token', { headers: { accept: 'application/json' } });
    const logged = logs.join('\n');
    assert.ok(!logged.includes(key));
    assert.ok(!logged.includes('abc.def-not-a-real-token'));
    assert.match(logged, /token=REDACTED/);
  });
});

describe('HTTP hardening: CORS is off by default', () => {
  let stack: AppStack;
  let host: LocalHost;
  before(async () => {
    stack = await startAppStack();
    const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
    host = await startLocalHost({
      triggers,
      port: 0,
      settings: stack.settings,
      hostJson,
      log: () => undefined,
    });
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('sends no Access-Control-* header, and refuses preflights, when CORS_ALLOWED_ORIGINS is empty', async () => {
    const res = await fetch(`${host.url}/api/task-types`, { headers: { origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.deepEqual(
      [...res.headers.keys()].filter((h) => h.startsWith('access-control-')),
      [],
    );
    const preflight = await fetch(`${host.url}/api/tasks`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 403);
    assert.deepEqual(
      [...preflight.headers.keys()].filter((h) => h.startsWith('access-control-')),
      [],
    );
  });
});
