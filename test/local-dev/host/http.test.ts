import assert from 'node:assert/strict';
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { HttpTrigger } from '../../../functions/app/trigger-types';
import { deferred, sleep, startTestHost, within, type Deferred, type TestHost } from './helpers';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server-sent-event stream the test writes to, which records whether the host cancelled it. */
interface TestStream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  cancelled: Deferred<void>;
}

function http(
  name: string,
  route: string,
  methods: HttpTrigger['methods'],
  handler: HttpTrigger['handler'],
): HttpTrigger {
  return { kind: 'http', name, route, methods, handler };
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('local host: HTTP triggers', () => {
  let host: TestHost;
  const streams = new Map<string, TestStream>();
  const firstUploadChunk = deferred<string>();
  const lateStarted = deferred();
  const lateRelease = deferred();
  const lateCancelled = deferred();

  const triggers: HttpTrigger[] = [
    http('echo', 'echo/{id}/{*rest}', ['GET', 'POST'], async (request: HttpRequest, context) => ({
      jsonBody: {
        method: request.method,
        url: request.url,
        params: request.params,
        x: request.query.getAll('x'),
        header: request.headers.get('x-test'),
        body: request.method === 'POST' ? await request.text() : null,
        functionName: context.functionName,
        invocationId: context.invocationId,
      },
    })),
    http('upload', 'upload', ['POST'], async (request) => {
      const reader = request.body!.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (chunks.length === 0) firstUploadChunk.resolve(decoder.decode(value));
        chunks.push(value);
      }
      return { body: `${chunks.length} chunks: ${Buffer.concat(chunks).toString()}` };
    }),
    http('events', 'events/{id}', ['GET'], async (request): Promise<HttpResponseInit> => {
      const cancelled = deferred();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          streams.set(request.params.id, { controller, cancelled });
          controller.enqueue(encoder.encode('retry: 2000\n\n'));
        },
        cancel() {
          cancelled.resolve();
        },
      });
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
        body,
      };
    }),
    http('late', 'late', ['GET'], async () => {
      lateStarted.resolve();
      await lateRelease.promise;
      return {
        headers: { 'content-type': 'text/event-stream' },
        body: new ReadableStream<Uint8Array>({ cancel: () => lateCancelled.resolve() }),
      };
    }),
    http('boom', 'boom', ['GET'], async () => {
      throw new Error('database password is hunter2');
    }),
    http('cookies', 'cookies', ['GET'], async () => ({
      status: 201,
      headers: { 'x-one': '1', connection: 'upgrade' },
      cookies: [
        { name: 'session', value: 'a b', httpOnly: true, sameSite: 'Lax', path: '/' },
        { name: 'theme', value: 'dark', maxAge: 60 },
      ],
      body: 'made',
    })),
    http('only-get', 'only-get', ['GET'], async () => ({ body: 'ok' })),
    http('refuse', 'refuse', ['POST'], async () => ({ status: 413, body: 'too large' })),
  ];

  before(async () => {
    host = await startTestHost({ triggers });
  });
  after(() => host.close());

  it('passes method, absolute url, route params, repeated query keys, headers and body to the handler', async () => {
    const res = await fetch(`${host.url}/api/echo/42/a/b%20c?x=1&x=2`, {
      method: 'POST',
      headers: { 'x-test': 'yes', 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const echoed = (await res.json()) as Record<string, unknown>;
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.url, `${host.url}/api/echo/42/a/b%20c?x=1&x=2`);
    assert.deepEqual(echoed.params, { id: '42', rest: 'a/b c' });
    assert.deepEqual(echoed.x, ['1', '2']);
    assert.equal(echoed.header, 'yes');
    assert.equal(echoed.body, 'hello');
    assert.equal(echoed.functionName, 'echo');
    assert.match(String(echoed.invocationId), /^[0-9a-f-]{36}$/);
    assert.ok(host.logs.some((l) => l.startsWith("Executed 'echo' (Succeeded, Id=") && l.endsWith(' 200')));
  });

  it('streams the request body: the handler reads the first chunk before the client has sent the rest', async () => {
    const req = httpRequest(`${host.url}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
    });
    const response = once(req, 'response') as Promise<[IncomingMessage]>;
    req.write('part-1;');
    assert.equal(await within(firstUploadChunk.promise, 3_000, 'first chunk reached the handler'), 'part-1;');
    req.end('part-2');
    const [res] = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(await readBody(res), '2 chunks: part-1;part-2');
  });

  it('writes a streamed response chunk by chunk while the handler still holds the stream open', async () => {
    const res = await fetch(`${host.url}/api/events/live`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await within(reader.read(), 3_000, 'first SSE chunk');
    assert.equal(decoder.decode(first.value), 'retry: 2000\n\n');
    const stream = streams.get('live')!;
    stream.controller.enqueue(encoder.encode('event: progress\ndata: {"percent":50}\n\n'));
    const second = await within(reader.read(), 3_000, 'second SSE chunk');
    assert.equal(decoder.decode(second.value), 'event: progress\ndata: {"percent":50}\n\n');
    stream.controller.close();
    assert.equal((await reader.read()).done, true);
  });

  it('cancels the response stream when the client disconnects, so the handler can clean up', async () => {
    const abort = new AbortController();
    const res = await fetch(`${host.url}/api/events/gone`, { signal: abort.signal });
    await res.body!.getReader().read();
    abort.abort();
    await within(streams.get('gone')!.cancelled.promise, 3_000, 'the handler stream was cancelled');
  });

  it('cancels the response stream when the client left before the handler returned it', async () => {
    const abort = new AbortController();
    const res = fetch(`${host.url}/api/late`, { signal: abort.signal }).catch(() => 'aborted');
    await lateStarted.promise;
    abort.abort();
    assert.equal(await res, 'aborted');
    await sleep(50);
    lateRelease.resolve();
    await within(lateCancelled.promise, 3_000, 'the handler stream was cancelled');
  });

  it('holds many streaming responses open at once', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `many-${i}`);
    const readers = await Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${host.url}/api/events/${id}`);
        const reader = res.body!.getReader();
        await reader.read();
        return reader;
      }),
    );
    for (const id of ids) streams.get(id)!.controller.close();
    const ends = await Promise.all(readers.map((r) => r.read()));
    assert.ok(ends.every((end) => end.done));
  });

  it('keeps connections alive between requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = async (): Promise<boolean> => {
        const req = httpRequest(`${host.url}/api/only-get`, { agent });
        req.end();
        const [res] = (await once(req, 'response')) as [IncomingMessage];
        assert.equal(await readBody(res), 'ok');
        return req.reusedSocket;
      };
      assert.equal(await get(), false);
      assert.equal(await get(), true);
    } finally {
      agent.destroy();
    }
  });

  it('closes the connection after answering before the request body arrived, so the next request is not stuck behind it', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = httpRequest(`${host.url}/api/refuse`, { agent, method: 'POST' });
      refused.on('error', () => undefined); // the server may close while the body is still being sent
      refused.end(Buffer.alloc(4 * 1024 * 1024, 'a'));
      const [first] = (await once(refused, 'response')) as [IncomingMessage];
      assert.equal(first.statusCode, 413);
      assert.equal(first.headers.connection, 'close');
      await readBody(first);
      const next = httpRequest(`${host.url}/api/only-get`, { agent });
      next.end();
      const [res] = (await within(once(next, 'response'), 2_000, 'the next request on the connection')) as [
        IncomingMessage,
      ];
      assert.equal(await readBody(res), 'ok');
    } finally {
      agent.destroy();
    }
  });

  it('writes status, headers and every cookie, and drops connection-level headers', async () => {
    const res = await fetch(`${host.url}/api/cookies`);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-one'), '1');
    assert.notEqual(res.headers.get('connection'), 'upgrade');
    assert.deepEqual(res.headers.getSetCookie(), [
      'session=a%20b; Path=/; HttpOnly; SameSite=Lax',
      'theme=dark; Max-Age=60',
    ]);
    assert.equal(res.headers.get('content-length'), '4');
    assert.equal(await res.text(), 'made');
  });

  it('answers 500 with a generic problem body when the handler throws, and logs the error with its stack', async () => {
    const res = await fetch(`${host.url}/api/boom`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|at .*\.js/);
    const problem = JSON.parse(text) as { status: number; title: string };
    assert.equal(problem.status, 500);
    assert.equal(problem.title, 'Internal Server Error');
    assert.ok(host.logs.some((l) => l.startsWith("Executed 'boom' (Failed")));
    assert.ok(host.logs.some((l) => l.includes('database password is hunter2') && /\n\s+at /.test(l)));
  });

  it('answers a plain 404 for unknown paths and paths outside the route prefix', async () => {
    for (const path of ['/api/nothing', '/other', '/']) {
      const res = await fetch(`${host.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), 'Not Found');
    }
  });

  it('answers a plain 405 with Allow when only the method is wrong and there is no catch-all', async () => {
    const res = await fetch(`${host.url}/api/only-get`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    await res.text();
  });
});

describe('local host: HTTP catch-all route', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({
      triggers: [
        http('things', 'things', ['GET'], async () => ({ body: 'things' })),
        http('fallback', '{*path}', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], async (request) => ({
          status: 404,
          jsonBody: { fallback: request.params.path ?? null, method: request.method },
        })),
      ],
    });
  });
  after(() => host.close());

  it('sends a request that no other route takes for its path and method to the catch-all', async () => {
    assert.equal(await (await fetch(`${host.url}/api/things`)).text(), 'things');
    const wrongMethod = await fetch(`${host.url}/api/things`, { method: 'POST' });
    assert.deepEqual(await wrongMethod.json(), { fallback: 'things', method: 'POST' });
    const unknown = await fetch(`${host.url}/api/a/b/c`);
    assert.deepEqual(await unknown.json(), { fallback: 'a/b/c', method: 'GET' });
    assert.deepEqual(await (await fetch(`${host.url}/api`)).json(), { fallback: null, method: 'GET' });
  });
});

describe('local host: HTTP shutdown', () => {
  it('close() ends open streams, waits for a running handler, then refuses connections', async () => {
    let cancelled = false;
    const slowStarted = deferred();
    const host = await startTestHost({
      triggers: [
        http('slow', 'slow', ['GET'], async () => {
          slowStarted.resolve();
          await sleep(300);
          return { body: 'finished' };
        }),
        http('stream', 'stream', ['GET'], async () => ({
          headers: { 'content-type': 'text/event-stream' },
          body: new ReadableStream<Uint8Array>({
            start: (c) => c.enqueue(encoder.encode(': open\n\n')),
            cancel: () => {
              cancelled = true;
            },
          }),
        })),
      ],
    });
    const stream = (await fetch(`${host.url}/api/stream`)).body!.getReader();
    await stream.read();
    const slow = fetch(`${host.url}/api/slow`);
    await slowStarted.promise;
    await host.close();
    assert.equal(cancelled, true);
    assert.equal((await stream.read()).done, true);
    const res = await slow;
    assert.equal(await res.text(), 'finished');
    await assert.rejects(fetch(`${host.url}/api/slow`));
  });

  it('reads the route prefix from ./host.json when no hostJson is given', async () => {
    const host = await startTestHost({
      hostJson: undefined,
      triggers: [http('ping', 'ping', ['GET'], async () => ({ body: 'pong' }))],
    });
    try {
      // The repository's host.json has an empty prefix (the web UI has `/`).
      assert.equal(await (await fetch(`${host.url}/ping`)).text(), 'pong');
    } finally {
      await host.close();
    }
  });

  it('refuses to start on an invalid trigger table: clashing routes, repeated names', async () => {
    await assert.rejects(
      startTestHost({
        triggers: [
          http('a', 'x/{id}', ['GET'], async () => ({})),
          http('b', 'x/{other}', ['GET'], async () => ({})),
        ],
      }),
      /both match GET requests/,
    );
    await assert.rejects(
      startTestHost({
        triggers: [http('a', 'x', ['GET'], async () => ({})), http('a', 'y', ['GET'], async () => ({}))],
      }),
      /Two triggers are named 'a'/,
    );
  });
});
