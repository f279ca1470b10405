import assert from 'node:assert/strict';
import type { lookup, LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OutboundPolicy } from '../../../functions/outbound/address-policy';
import { OutboundClient, OutboundError } from '../../../functions/outbound/outbound-client';

/** A local site that counts the connections it accepts, so a test can prove that a refused request made none. */
async function startSite(
  routes: Record<string, (res: ServerResponse, body: string, method: string) => void>,
) {
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const route = routes[req.url ?? ''];
      if (route) route(res, body, req.method ?? '');
      else res.writeHead(404).end('missing');
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { server, port, origin: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** Name resolution for the tests: fixed answers for made-up names (there is no DNS server here). */
function fakeDns(table: Record<string, string[]>) {
  return ((hostname: string, _options: unknown, callback: (e: Error | null, a: LookupAddress[]) => void) => {
    const addresses = table[hostname];
    if (!addresses)
      return callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  }) as unknown as typeof lookup;
}

describe('outbound client', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let other: Awaited<ReturnType<typeof startSite>>;
  let client: OutboundClient;
  let locked: OutboundClient;

  before(async () => {
    other = await startSite({ '/': (res) => res.end('other') });
    site = await startSite({
      '/page': (res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>hi</h1>'),
      '/json': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
      '/gzip': (res) =>
        res
          .writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
          .end(gzipSync('zipped')),
      '/bomb': (res) =>
        res
          .writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
          .end(gzipSync(Buffer.alloc(5_000_000))),
      '/big': (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.alloc(2_000)),
      '/chunked': (res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(300));
        res.end();
      },
      '/slow': (res) => setTimeout(() => res.end('late'), 2_000),
      '/hop': (res) => res.writeHead(302, { location: '/page' }).end(),
      '/loop': (res) => res.writeHead(302, { location: '/loop' }).end(),
      '/to-private': (res) => res.writeHead(301, { location: 'http://10.0.0.1/admin' }).end(),
      '/to-other-port': (res) => res.writeHead(307, { location: `${other.origin}/` }).end(),
      '/to-metadata-name': (res) => res.writeHead(302, { location: 'http://metadata.test/latest' }).end(),
      '/to-dev-name': (res) => res.writeHead(302, { location: `http://dev.test:${site.port}/page` }).end(),
      '/post': (res, body, method) => res.writeHead(303, { location: `/echo?${method}:${body}` }).end(),
      '/echo?POST:ping': (res, body, method) => res.end(`${method}:${body}`),
    });
    const dns = fakeDns({
      'internal.test': ['10.1.2.3'],
      'metadata.test': ['169.254.169.254'],
      'mixed.test': ['8.8.8.8', '127.0.0.1'],
      'dev.test': ['127.0.0.1'],
    });
    client = new OutboundClient({
      policy: new OutboundPolicy({ allowPrivateHosts: [`127.0.0.1:${site.port}`, `dev.test:${site.port}`] }),
      userAgent: 'LonghaulTest/1',
      lookup: dns,
    });
    locked = new OutboundClient({
      policy: new OutboundPolicy({ allowPrivateHosts: [] }),
      userAgent: 'LonghaulTest/1',
      lookup: dns,
    });
  });

  after(() => {
    client.close();
    locked.close();
    site.server.close();
    other.server.close();
  });

  test('every private, loopback, link-local and encoded form is refused before any connection is made', async () => {
    const port = site.port;
    const targets = [
      `http://127.0.0.1:${port}/page`,
      `http://localhost:${port}/page`,
      `http://localhost.:${port}/page`,
      `http://LOCALHOST:${port}/page`,
      `http://[::1]:${port}/page`,
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/',
      `http://[::ffff:127.0.0.1]:${port}/page`,
      `http://2130706433:${port}/page`,
      `http://0177.0.0.1:${port}/page`,
      `http://0x7f.1:${port}/page`,
      'http://100.64.0.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://0.0.0.0/',
      `http://internal.test:${port}/`,
      `http://metadata.test/latest/meta-data`,
      `http://mixed.test:${port}/`,
      'file:///etc/passwd',
      'ftp://example.com/',
    ];
    for (const target of targets) {
      await assert.rejects(
        locked.request(target),
        (err: unknown) =>
          err instanceof OutboundError && err.code === 'refused' && /refused/.test(err.message),
        target,
      );
    }
    assert.equal(site.connections(), 0);
  });

  test('a name that resolves to a private address names the address and its range', async () => {
    await assert.rejects(
      locked.request('http://metadata.test/latest/meta-data'),
      /169\.254\.169\.254, which is linkLocal/,
    );
  });

  test('an allowed private host is reached, and a redirect to another private host is refused', async () => {
    const page = await client.request(`${site.origin}/page`);
    assert.equal(page.status, 200);
    assert.equal(page.body.toString(), '<h1>hi</h1>');
    const byName = await client.request(`http://dev.test:${site.port}/page`);
    assert.equal(byName.status, 200);

    const before = other.connections();
    for (const path of ['/to-private', '/to-other-port', '/to-metadata-name']) {
      await assert.rejects(
        client.request(`${site.origin}${path}`),
        (err: unknown) => err instanceof OutboundError && err.code === 'refused',
        path,
      );
    }
    assert.equal(other.connections(), before);
  });

  test('a per-request host allowlist applies to every hop and only narrows the policy', async () => {
    const only127 = { allowHosts: ['127.0.0.1'] };
    assert.equal((await client.request(`${site.origin}/page`, only127)).status, 200);
    await assert.rejects(client.request(`http://dev.test:${site.port}/page`, only127), {
      code: 'refused',
      message: `refused http://dev.test:${site.port}/page: dev.test is not in the allowed hosts`,
    });
    await assert.rejects(client.request(`${site.origin}/to-dev-name`, only127), {
      code: 'refused',
      message: /dev\.test is not in the allowed hosts/,
    });
    await assert.rejects(locked.request(`${site.origin}/page`, only127), {
      code: 'refused',
      message: /127\.0\.0\.1 is loopback/,
    });
  });

  test('redirects are followed and listed; a 303 after POST becomes a GET; loops stop at the limit', async () => {
    const hop = await client.request(`${site.origin}/hop`);
    assert.equal(hop.url, `${site.origin}/page`);
    assert.deepEqual(hop.redirects, [`${site.origin}/page`]);
    const post = await client.request(`${site.origin}/post`, { method: 'POST', body: 'ping' });
    assert.equal(post.body.toString(), 'GET:');
    await assert.rejects(client.request(`${site.origin}/loop`, { maxRedirects: 3 }), {
      code: 'too_many_redirects',
    });
    const unfollowed = await client.request(`${site.origin}/hop`, { maxRedirects: 0 });
    assert.equal(unfollowed.status, 302);
  });

  test('bodies are decoded and limited, by declared length, while streaming, and after decompression', async () => {
    assert.equal((await client.request(`${site.origin}/gzip`)).body.toString(), 'zipped');
    await assert.rejects(client.request(`${site.origin}/big`, { maxBytes: 1_000 }), { code: 'too_large' });
    await assert.rejects(client.request(`${site.origin}/chunked`, { maxBytes: 1_000 }), {
      code: 'too_large',
    });
    await assert.rejects(client.request(`${site.origin}/bomb`, { maxBytes: 100_000 }), { code: 'too_large' });
    assert.equal((await client.request(`${site.origin}/chunked`, { maxBytes: 3_000 })).body.length, 3_000);
  });

  test('content types outside the accepted list are refused; slow answers time out', async () => {
    const html = await client.request(`${site.origin}/page`, { contentTypes: ['text/html'] });
    assert.equal(html.status, 200);
    await assert.rejects(client.request(`${site.origin}/json`, { contentTypes: ['text/html'] }), {
      code: 'content_type',
    });
    await assert.rejects(client.request(`${site.origin}/slow`, { timeoutMs: 200 }), { code: 'timeout' });
  });

  test('requests carry the configured User-Agent', async () => {
    let seen = '';
    const probe = await startSite({});
    probe.server.prependListener('request', (req) => (seen = req.headers['user-agent'] ?? ''));
    const probing = new OutboundClient({
      policy: new OutboundPolicy({ allowPrivateHosts: [`127.0.0.1:${probe.port}`] }),
      userAgent: 'LonghaulTest/1',
    });
    await probing.request(`${probe.origin}/`);
    probing.close();
    probe.server.close();
    assert.equal(seen, 'LonghaulTest/1');
  });
});
