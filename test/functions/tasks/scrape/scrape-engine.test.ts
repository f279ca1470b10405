import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { appServices } from '../../../../functions/app/app-services';
import { listTaskEvents } from '../../../../functions/app/http/handlers/task-events';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import { blockedAddressReason } from '../../../../functions/outbound/address-policy';
import type { PageRecord, ScrapeResult } from '../../../../functions/tasks/scrape/scrape';
import { sweepTasks } from '../../../../functions/app/timers/sweep-tasks';
import type { LocalHost } from '../../../../local-dev/host';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import {
  invocation,
  isFinished,
  startWorker,
  taskState,
  timer,
  waitForTask,
} from '../../../support/engine-harness';
import { call } from '../../../support/http';
import { html as page, links, startLocalSite, type LocalSite } from './local-site';

async function submitScrape(input: Record<string, unknown>): Promise<string> {
  const res = await call(submitTask, { method: 'POST', path: '/api/tasks', body: { type: 'scrape', input } });
  assert.equal(res.status, 202, res.text);
  return (res.body as { id: string }).id;
}

interface LogEvent {
  type: string;
  level?: string;
  message?: string;
  data?: { url?: string; code?: string };
}

/** The task's persisted events, as GET /api/tasks/{id}/events returns them. */
async function logEvents(id: string): Promise<LogEvent[]> {
  const res = await call(listTaskEvents, {
    path: `/api/tasks/${id}/events?limit=1000`,
    params: { id },
  });
  assert.equal(res.status, 200, res.text);
  return (res.body as { items: LogEvent[] }).items.filter((e) => e.type === 'log');
}

const resultOf = async (id: string) =>
  (await appServices().blobs.getJson(`results/${id}.json`)) as ScrapeResult;

/** A name the system resolver maps to a loopback or private address (from /etc/hosts: there is no DNS here). */
async function privateName(): Promise<string> {
  for (const name of [hostname(), 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']) {
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length && addresses.every((a) => blockedAddressReason(a.address))) return name;
  }
  throw new Error('no host name here resolves to a private address');
}

describe('scrape task through the engine', () => {
  let site: LocalSite;
  /** Reached only by addresses the crawler must refuse: it must never see a connection. */
  let victim: LocalSite;
  /** Allowed as private for `localhost:<port>`, to show a task's allowHosts narrowing that. */
  let other: LocalSite;
  let stack: AppStack;
  let worker: LocalHost | undefined;
  /** Each URL the crawler must refuse, with the reason it must give. */
  let matrix: Array<[string, RegExp]>;

  /** Submits a crawl (no politeness delay), waits for it to succeed, and returns its row and result. */
  const crawl = async (input: Record<string, unknown>) => {
    const id = await submitScrape({ politenessMs: 0, ...input });
    const task = await waitForTask(stack, id, isFinished, 30_000);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.error));
    return { id, task, result: await resultOf(id) };
  };

  before(async () => {
    victim = await startLocalSite({}, '::');
    other = await startLocalSite({ '/': (res) => page(res, 'other') }, '::');
    const v = victim.port;
    const name = await privateName();
    matrix = [
      [`http://127.0.0.1:${v}/loopback`, /127\.0\.0\.1 is loopback/],
      [`http://localhost:${v}/name`, /localhost is loopback/],
      [`http://[::1]:${v}/ipv6`, /::1 is loopback/],
      ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is linkLocal/],
      ['http://10.0.0.1/', /10\.0\.0\.1 is private/],
      [`http://[::ffff:127.0.0.1]:${v}/mapped`, /::ffff:7f00:1 is loopback/],
      [`http://2130706433:${v}/decimal`, /127\.0\.0\.1 is loopback/],
      [`http://0177.0.0.1:${v}/octal`, /127\.0\.0\.1 is loopback/],
      [`http://0x7f.0.0.1:${v}/hex`, /127\.0\.0\.1 is loopback/],
      [
        '/ssrf/to-private',
        new RegExp(`redirected: refused http://127\\.0\\.0\\.1:${v}/admin: 127\\.0\\.0\\.1 is loopback`),
      ],
      [`http://${name}:${v}/resolves`, new RegExp(`${name} resolves to [^,]+, which is (loopback|private)`)],
    ];
    site = await startLocalSite({
      '/robots.txt': (res) =>
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(
            'User-agent: *\nDisallow: /\n\nUser-agent: Longhaul\nDisallow: /site/private\nAllow: /site/private/open\n',
          ),
      '/site/': (res) =>
        page(
          res,
          `<html><head><title>Home page</title><meta name="description" content="A small test site"></head>
          <body><h1>Welcome</h1><h2>Links</h2><p>Three words here.</p><img src="logo.png">
          ${links('about', 'about#team', 'redirect', 'missing', 'flaky', 'slow', 'private/secret', 'private/open', 'data.json', 'http://other.invalid/', 'mailto:me@example.com')}
          </body></html>`,
        ),
      '/site/about': (res) => page(res, `<title>About</title>${links('deep/1', '/site/')}`),
      '/site/redirect': (res) => res.writeHead(301, { location: '/site/moved' }).end(),
      '/site/moved': (res) => page(res, `<title>Moved</title>${links('moved', 'about')}`),
      '/site/flaky': (res, hit) => (hit === 1 ? res.writeHead(500).end() : page(res, '<title>Flaky</title>')),
      '/site/slow': (res) => setTimeout(() => page(res, '<title>Slow</title>'), 1_500),
      '/site/private/open': (res) => page(res, '<title>Open</title>'),
      '/site/private/secret': (res) => page(res, '<title>Secret</title>'),
      '/site/data.json': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
      '/site/deep/*': (res) => page(res, `<title>Deep</title>${links('2')}`),
      '/ssrf/': (res) => page(res, links(...matrix.map(([url]) => url))),
      '/ssrf/to-private': (res) =>
        res.writeHead(302, { location: `http://127.0.0.1:${victim.port}/admin` }).end(),
      '/narrow/': (res) => page(res, links(`http://localhost:${other.port}/`)),
      '/crash/': (res) => page(res, links(...Array.from({ length: 20 }, (_, i) => `/grid/${i + 100}`))),
      '/grid/': (res) => page(res, links(...Array.from({ length: 30 }, (_, i) => String(i)))),
      '/grid/*': (res) => setTimeout(() => page(res, '<p>cell</p>'), 100),
    });
    stack = await startAppStack({
      OUTBOUND_ALLOW_PRIVATE_HOSTS: `127.0.0.1:${site.port},localhost:${other.port}`,
      SLICE_BUDGET_SECONDS: '2',
      LEASE_SECONDS: '3',
      HEARTBEAT_SECONDS: '1',
    });
    worker = await startWorker(stack);
  });

  after(async () => {
    await worker?.close();
    await stack.stop();
    for (const s of [site, victim, other]) s.close();
  });

  it('crawls a site breadth first: links, redirects, a 404, a 500 that recovers, robots.txt, a slow page', async () => {
    const { id, task, result } = await crawl({
      url: `${site.origin}/site/`,
      maxPages: 50,
      maxDepth: 2,
      includeText: true,
      timeoutMs: 500,
    });
    const at = (path: string) => `${site.origin}/site/${path}`;
    const byUrl = new Map(result.pages.map((p) => [p.url, p]));
    const pageAt = (path: string): PageRecord => byUrl.get(at(path))!;

    assert.deepEqual(
      result.pages.map((p) => p.url),
      ['', 'about', 'redirect', 'missing', 'flaky', 'slow', 'private/open', 'data.json', 'deep/1'].map(at),
      'breadth first, each URL once, fragments and other origins dropped',
    );
    const home = pageAt('');
    assert.equal(home.status, 200);
    assert.equal(home.title, 'Home page');
    assert.equal(home.description, 'A small test site');
    assert.deepEqual(home.headings, [
      { level: 1, text: 'Welcome' },
      { level: 2, text: 'Links' },
    ]);
    assert.equal(home.links, 11);
    assert.equal(home.images, 1);
    assert.match(home.text ?? '', /Three words here\./);
    assert.equal(pageAt('redirect').finalUrl, at('moved'));
    assert.deepEqual(pageAt('redirect').redirects, [at('moved')]);
    assert.equal(pageAt('missing').status, 404);
    assert.equal(pageAt('missing').error?.code, 'http_status');
    assert.equal(pageAt('flaky').status, 200);
    assert.equal(pageAt('flaky').attempts, 2);
    assert.equal(pageAt('slow').error?.code, 'timeout');
    assert.equal(pageAt('data.json').error?.code, 'content_type');
    assert.equal(pageAt('deep/1').depth, 2);
    assert.deepEqual(result.skipped, [{ url: at('private/secret'), depth: 1, reason: 'robots' }]);
    assert.deepEqual(
      { ...result.summary, durationMs: 0 },
      {
        startUrl: `${site.origin}/site/`,
        pages: 9,
        ok: 6,
        failed: 3,
        refused: 0,
        skippedByRobots: 1,
        notCrawled: 0,
        durationMs: 0,
      },
    );

    const requests = Object.fromEntries(
      ['robots.txt', 'site/', 'site/moved', 'site/flaky', 'site/private/secret', 'site/deep/2'].map((p) => [
        p,
        site.hits(`/${p}`),
      ]),
    );
    assert.deepEqual(requests, {
      'robots.txt': 1,
      'site/': 1,
      'site/moved': 1,
      'site/flaky': 2,
      'site/private/secret': 0,
      'site/deep/2': 0,
    });
    assert.deepEqual([...site.agents], ['Longhaul/0.1 (+https://github.com/longhaul-dev/longhaul)']);
    assert.equal(task.progress?.current, 9);

    const logs = await logEvents(id);
    const said = (level: string, pattern: RegExp) =>
      assert.ok(
        logs.some((l) => l.level === level && pattern.test(l.message ?? '')),
        `${level} ${pattern}: ${JSON.stringify(logs.map((l) => l.message))}`,
      );
    said('info', /^robots\.txt of http:\/\/127\.0\.0\.1:\d+: rules read/);
    said('info', /^retrying .*\/site\/flaky in \d+ ms: .*answered 500/);
    said('warn', /\/site\/missing answered 404/);
    said('warn', /\/site\/slow did not answer within 500 ms/);
    said('warn', /\/site\/data\.json answered application\/json, not text\/html/);
    said('info', /^crawled 9 page\(s\): 6 ok, 3 failed, 0 refused, 1 skipped by robots\.txt/);
  });

  it('refuses every private, loopback, metadata and encoded address, and redirects to them, without a connection', async () => {
    const { id, result } = await crawl({
      url: `${site.origin}/ssrf/`,
      maxPages: 20,
      maxDepth: 1,
      sameOrigin: false,
    });
    assert.equal(result.summary.refused, matrix.length);
    assert.equal(result.summary.ok, 1);
    const logs = await logEvents(id);
    for (const [url, reason] of matrix) {
      const normalized = new URL(url, site.origin).href;
      const pageOf = result.pages.find((p) => p.url === normalized);
      assert.equal(pageOf?.error?.code, 'refused', url);
      assert.match(pageOf?.error?.message ?? '', reason, url);
      const logged = logs.find((l) => l.data?.url === normalized);
      assert.equal(logged?.level, 'warn', url);
      assert.match(logged?.message ?? '', /refused/, url);
      assert.match(logged?.message ?? '', reason, url);
    }
    assert.equal(victim.connections(), 0, 'no connection reached a refused address');
  });

  it('a refused start URL fails the task at once with the reason, logged as an error', async () => {
    const starts: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is linkLocal/],
      [`http://0177.0.0.1:${victim.port}/`, /127\.0\.0\.1 is loopback/],
    ];
    const ids = await Promise.all(starts.map(([url]) => submitScrape({ url })));
    for (const [i, id] of ids.entries()) {
      const task = await waitForTask(stack, id, isFinished);
      assert.equal(task.status, 'failed');
      assert.equal(task.attempts, 1, 'not retried');
      assert.equal(task.error?.code, 'url_refused');
      assert.match(task.error?.message ?? '', starts[i][1]);
      const logs = await logEvents(id);
      assert.ok(
        logs.some((l) => l.level === 'error' && starts[i][1].test(l.message ?? '')),
        JSON.stringify(logs),
      );
    }
    assert.equal(victim.connections(), 0);
  });

  it("a task's allowHosts narrows what OUTBOUND_ALLOW_PRIVATE_HOSTS lets through", async () => {
    const { result } = await crawl({
      url: `${site.origin}/narrow/`,
      maxPages: 5,
      sameOrigin: false,
      allowHosts: ['127.0.0.1'],
    });
    const refused = result.pages[1];
    assert.equal(refused.error?.code, 'refused');
    assert.match(refused.error?.message ?? '', /localhost is not in the allowed hosts/);
    assert.equal(other.connections(), 0);
  });

  it('a crawl longer than a slice resumes from its checkpoints: every page fetched exactly once', async () => {
    const { id, result } = await crawl({ url: `${site.origin}/grid/`, maxPages: 31, maxDepth: 1 });
    const lease = await appServices().checkpoints.leaseState(id);
    assert.ok(lease.nextSlice >= 2, `ran in ${lease.nextSlice} slices`);
    assert.equal(result.summary.ok, 31);
    const counts = Array.from({ length: 30 }, (_, i) => site.hits(`/grid/${i}`));
    assert.deepEqual(counts, Array(30).fill(1));
    assert.equal(site.hits('/grid/'), 1);
  });

  it('a worker killed mid-crawl loses at most the page in flight', async () => {
    await worker?.close();
    worker = undefined;
    const spawnWorker = async () => {
      const child = spawn(
        process.execPath,
        [join(__dirname, '../../../../local-dev/host-process.js'), '--role', 'worker'],
        { env: { ...process.env, ...stack.settings }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await once(createInterface({ input: child.stdout! }), 'line');
      return child;
    };
    const children: ChildProcess[] = [await spawnWorker()];
    try {
      const id = await submitScrape({
        url: `${site.origin}/crash/`,
        maxPages: 21,
        maxDepth: 1,
        politenessMs: 0,
      });
      await waitForTask(stack, id, (t) => (t.progress?.current ?? 0) >= 6);
      children[0].kill('SIGKILL');
      await once(children[0], 'exit');
      children.push(await spawnWorker());
      // The dead worker's message stays locked; once its lease has expired and its heartbeat is stale (lease +
      // heartbeat seconds), the sweeper re-drives the task. Until then a sweep leaves it alone.
      const deadline = Date.now() + 30_000;
      let task = await taskState(stack, id);
      while (!isFinished(task) && Date.now() < deadline) {
        await sweepTasks(timer, invocation());
        await new Promise((r) => setTimeout(r, 500));
        task = await taskState(stack, id);
      }
      assert.equal(task.status, 'succeeded');
      assert.equal((await resultOf(id)).summary.ok, 21);
      const counts = Array.from({ length: 20 }, (_, i) => site.hits(`/grid/${i + 100}`));
      assert.ok(
        counts.every((n) => n === 1 || n === 2) && counts.filter((n) => n === 2).length <= 1,
        `requests per page: ${counts.join(',')}`,
      );
      assert.equal(task.progress?.current, 21);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });
});
