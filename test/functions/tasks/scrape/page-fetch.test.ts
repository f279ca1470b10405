import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OutboundPolicy } from '../../../../functions/outbound/address-policy';
import { OutboundClient } from '../../../../functions/outbound/outbound-client';
import type { LogLevel } from '../../../../functions/engine/define-task';
import {
  HostResilience,
  retryAfterMs,
  type ResilienceOptions,
} from '../../../../functions/tasks/scrape/host-resilience';
import { PageFetcher, type FetchOutcome } from '../../../../functions/tasks/scrape/page-fetch';
import { html, startLocalSite, type LocalSite } from './local-site';

describe('page fetch: retries, Retry-After, circuit breaker, timeouts, politeness', () => {
  let site: LocalSite;
  let outbound: OutboundClient;
  const logs: Array<{ level: LogLevel; message: string; data?: unknown }> = [];
  const signal = new AbortController().signal;

  const fetcher = (options: Partial<ResilienceOptions> = {}, politenessMs = 0) =>
    new PageFetcher({
      outbound,
      resilience: new HostResilience(
        { timeoutMs: 300, retryBaseMs: 20, ...options },
        (level, message, data) => logs.push({ level, message, data }),
      ),
      timeoutMs: 300,
      politenessMs,
    });
  const get = (f: PageFetcher, path: string): Promise<FetchOutcome> =>
    f.fetch(`${site.origin}${path}`, { maxBytes: 10_000, signal });
  const statusOf = (o: FetchOutcome) => ('response' in o ? o.response.status : o.error.code);

  before(async () => {
    site = await startLocalSite({
      '/ok': (res) => html(res),
      '/flaky': (res, hit) => (hit === 1 ? res.writeHead(500).end() : html(res)),
      '/reset': (res, hit) => (hit === 1 ? res.destroy() : html(res)),
      '/throttled': (res, hit) => (hit === 1 ? res.writeHead(429, { 'retry-after': '1' }).end() : html(res)),
      '/throttled-long': (res) => res.writeHead(503, { 'retry-after': '3600' }).end(),
      '/down': (res) => res.writeHead(503).end(),
      '/slow': (res) => setTimeout(() => html(res), 1_000),
      '/gone': (res) => res.writeHead(404).end(),
    });
    outbound = new OutboundClient({
      policy: new OutboundPolicy({ allowPrivateHosts: [`127.0.0.1:${site.port}`] }),
      userAgent: 'LonghaulTest/1',
    });
  });
  after(() => {
    outbound.close();
    site.close();
  });

  test('a 500 and a reset connection are retried with backoff; a 404 is an answer, not retried', async () => {
    const f = fetcher();
    const flaky = await get(f, '/flaky');
    assert.equal(statusOf(flaky), 200);
    assert.equal(flaky.attempts, 2);
    assert.ok(
      logs.some((l) => l.level === 'info' && /retrying .*\/flaky in \d+ ms: .*answered 500/.test(l.message)),
    );
    assert.equal(statusOf(await get(f, '/reset')), 200);
    assert.equal(site.hits('/reset'), 2);
    const gone = await get(f, '/gone');
    assert.equal(statusOf(gone), 404);
    assert.equal(gone.attempts, 1);
  });

  test('Retry-After is waited for; one beyond the bound is not, and the answer is reported', async () => {
    const f = fetcher();
    const throttled = await get(f, '/throttled');
    assert.equal(statusOf(throttled), 200);
    const [first, second] = site.times('/throttled');
    assert.ok(second - first >= 950, `retried after ${second - first} ms`);
    const long = await get(f, '/throttled-long');
    assert.equal(statusOf(long), 503);
    assert.equal(long.attempts, 1);
  });

  test('a slow answer times out per attempt and is not retried', async () => {
    const started = Date.now();
    const slow = await get(fetcher(), '/slow');
    assert.equal(statusOf(slow), 'timeout');
    assert.equal(slow.attempts, 1);
    assert.ok(Date.now() - started < 900);
    assert.match('error' in slow ? slow.error.message : '', /\/slow did not answer within 300 ms/);
  });

  test('consecutive failures open the host circuit: later requests fail at once, then it half-opens and closes', async () => {
    logs.length = 0;
    const f = fetcher({ retries: 1, breakAfter: 3, halfOpenAfterMs: 300 });
    assert.equal(statusOf(await get(f, '/down')), 503); // 2 failures
    assert.equal(statusOf(await get(f, '/down')), 'circuit_open'); // 3rd failure opens it; the retry is refused
    const asked = site.hits('/down');
    const open = await get(f, '/ok');
    assert.equal(statusOf(open), 'circuit_open');
    assert.match('error' in open ? open.error.message : '', /circuit for 127\.0\.0\.1:\d+ is open/);
    assert.equal(site.hits('/down'), asked, 'no request while open');
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(statusOf(await get(f, '/ok')), 200);
    const circuit = logs.filter((l) => /^circuit for/.test(l.message));
    assert.deepEqual(
      circuit.map((l) => (l.data as { circuit: string }).circuit),
      ['open', 'half-open', 'closed'],
    );
    assert.equal(circuit[0].level, 'warn');
    assert.match(circuit[0].message, /opened after 3 consecutive failures/);
  });

  test('requests to one host are spaced by the politeness delay (or a longer crawl-delay)', async () => {
    const f = fetcher({}, 150);
    const before = site.hits('/ok');
    await get(f, '/ok');
    await get(f, '/ok');
    await f.fetch(`${site.origin}/ok`, { maxBytes: 10_000, signal, delayMs: 300 });
    const at = site.times('/ok').slice(before);
    assert.ok(at[1] - at[0] >= 140, `second request after ${at[1] - at[0]} ms`);
    assert.ok(at[2] - at[1] >= 290, `third request after ${at[2] - at[1]} ms`);
  });

  test('a refused address is an outcome, with no connection; the task abort is thrown, not recorded', async () => {
    const connections = site.connections();
    const refused = await fetcher().fetch(`http://localhost:${site.port}/ok`, { maxBytes: 10_000, signal });
    assert.equal(statusOf(refused), 'refused');
    assert.match('error' in refused ? refused.error.message : '', /localhost is loopback/);
    assert.equal(site.connections(), connections);
    const abort = new AbortController();
    const pending = fetcher().fetch(`${site.origin}/slow`, { maxBytes: 10_000, signal: abort.signal });
    setTimeout(() => abort.abort(new Error('slice over')), 50);
    await assert.rejects(pending);
  });

  test('Retry-After is read in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});
