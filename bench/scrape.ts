import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { appServices, closeAppServices, OUTBOUND_USER_AGENT } from '../functions/app/app-services';
import { OutboundPolicy } from '../functions/outbound/address-policy';
import { OutboundClient } from '../functions/outbound/outbound-client';
import { crawlableLinks, Frontier } from '../functions/tasks/scrape/frontier';
import { HostResilience } from '../functions/tasks/scrape/host-resilience';
import { PageFetcher } from '../functions/tasks/scrape/page-fetch';
import { decodeHtml, summarizePage } from '../functions/tasks/scrape/page-summary';
import { startBenchStack, submitTask } from './bench-stack';
import {
  monotonicUs,
  profileThisProcess,
  readProfileFrom,
  summarizeProfile,
  type ProfileSummary,
} from './cpu-profile';
import { startHostProcess, stopChildren } from './processes';

export interface ScrapeBenchResult {
  pages: number;
  pageBytes: number;
  /** The `scrape` task on a worker process (the local host running the Service Bus trigger): started → finished. */
  engine: { ms: number; pagesPerSecond: number };
  /** The same fetch, parse and frontier in a plain loop: no steps, checkpoints, progress or events. */
  bare: { ms: number; pagesPerSecond: number };
  overheadPerPageMs: number;
}

export interface ScrapeProfiles {
  /** The worker process (the task's own code and the engine), over the crawl. */
  worker: ProfileSummary;
  /** The benchmark's process over the crawl: Azurite and the Service Bus emulator, which the worker waits on. */
  stack: ProfileSummary;
}

const FAN_OUT = 3;

/** Page i of a site of `pages` pages that is a tree (children 3i+1..3i+3) with some prose, headings and back links. */
function sitePage(i: number, pages: number): string {
  const children = Array.from({ length: FAN_OUT }, (_, k) => FAN_OUT * i + k + 1).filter((c) => c < pages);
  const prose = Array.from(
    { length: 20 },
    (_, p) => `<p>Paragraph ${p} of page ${i}: the quick brown fox jumps over the lazy dog, twice.</p>`,
  ).join('\n');
  const parent = i > 0 ? [`/p/${Math.floor((i - 1) / FAN_OUT)}`] : [];
  const anchors = [...children.map((c) => `/p/${c}`), '/p/0', ...parent]
    .map((href) => `<a href="${href}">${href}</a>`)
    .join(' ');
  return `<!doctype html><html><head><title>Page ${i}</title><meta name="description" content="Page ${i} of the bench site"></head>
<body><h1>Page ${i}</h1><h2>Section</h2>${prose}<img src="/img.png"><nav>${anchors}</nav></body></html>`;
}

async function startSite(count: number): Promise<{ server: Server; origin: string; host: string }> {
  const pages = Array.from({ length: count }, (_, i) => sitePage(i, count));
  const server = createServer((req, res) => {
    const i = /^\/p\/(\d+)$/.exec(req.url ?? '')?.[1];
    const body = i === undefined ? undefined : pages[Number(i)];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, origin: `http://${host}`, host };
}

/** The crawl without the engine: what the task does per page, in a loop. */
async function bareCrawl(origin: string, host: string, maxPages: number): Promise<number> {
  const outbound = new OutboundClient({
    policy: new OutboundPolicy({ allowPrivateHosts: [host] }),
    userAgent: OUTBOUND_USER_AGENT,
  });
  const fetcher = new PageFetcher({
    outbound,
    resilience: new HostResilience({ timeoutMs: 10_000 }, () => undefined),
    timeoutMs: 10_000,
    politenessMs: 0,
  });
  const frontier = new Frontier(`${origin}/p/0`, { maxDepth: 10, sameOrigin: true });
  const signal = new AbortController().signal;
  let pages = 0;
  for (let entry = frontier.next(); entry && pages < maxPages; entry = frontier.next()) {
    const outcome = await fetcher.fetch(entry.url, { maxBytes: 5 * 1024 * 1024, signal });
    if (!('response' in outcome)) throw new Error(outcome.error.message);
    const { response } = outcome;
    const parsed = summarizePage(
      decodeHtml(response.body, response.headers['content-type']),
      response.url,
      false,
    );
    frontier.markFetched(response.url);
    frontier.add(crawlableLinks(parsed.hrefs, parsed.base, 1_000), entry.depth + 1);
    pages++;
  }
  outbound.close();
  return pages;
}

/**
 * Crawler throughput on a local site (300 pages by default): through the engine, and as a bare loop of the same work.
 * With `profile`, the worker runs under --cpu-prof and this process (the stack) under the inspector's profiler, both
 * summarised over the engine's crawl only; profiling slows both, so such a run's figures are not the benchmark's.
 */
export async function benchScrape(
  pages = 300,
  profile = false,
): Promise<ScrapeBenchResult & { profiles?: ScrapeProfiles }> {
  const site = await startSite(pages);
  const stack = await startBenchStack({ OUTBOUND_ALLOW_PRIVATE_HOSTS: site.host });
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'longhaul-bench-profile-')) : undefined;
  // A process of its own, as deployed: the storage emulators and the site stay in this one.
  const worker = await startHostProcess(
    'worker',
    stack.settings,
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  try {
    const bareStart = performance.now();
    const barePages = await bareCrawl(site.origin, site.host, pages);
    const bareMs = performance.now() - bareStart;

    const crawl = async () => {
      const task = await submitTask('scrape', {
        url: `${site.origin}/p/0`,
        maxPages: pages,
        maxDepth: 10,
        politenessMs: 0,
      });
      let row = await appServices().repository.find(task.id);
      while (row && !['succeeded', 'failed', 'cancelled'].includes(row.status)) {
        await sleep(100);
        row = await appServices().repository.find(task.id);
      }
      return row;
    };
    const window: [number, number] = [monotonicUs(), 0];
    const profiled = profile
      ? await profileThisProcess(crawl)
      : { result: await crawl(), profile: undefined };
    window[1] = monotonicUs();
    const row = profiled.result;
    if (row?.status !== 'succeeded')
      throw new Error(`the crawl ended ${row?.status}: ${JSON.stringify(row?.error)}`);
    const result = (await appServices().blobs.getJson(row.resultRef!)) as { summary: { ok: number } };
    if (result.summary.ok !== pages || barePages !== pages) {
      throw new Error(
        `crawled ${result.summary.ok} pages through the engine and ${barePages} bare, not ${pages}`,
      );
    }
    const engineMs = row.finishedAt!.getTime() - row.startedAt!.getTime();
    await stopChildren([worker.child]);
    return {
      pages,
      pageBytes: Buffer.byteLength(sitePage(1, pages)),
      engine: { ms: engineMs, pagesPerSecond: (pages * 1000) / engineMs },
      bare: { ms: bareMs, pagesPerSecond: (pages * 1000) / bareMs },
      overheadPerPageMs: (engineMs - bareMs) / pages,
      ...(profileDir && profiled.profile
        ? {
            profiles: {
              worker: summarizeProfile(readProfileFrom(profileDir), window),
              stack: summarizeProfile(profiled.profile, window),
            },
          }
        : {}),
    };
  } finally {
    await stopChildren([worker.child]);
    await closeAppServices();
    await stack.stop();
    site.server.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  }
}
