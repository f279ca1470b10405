import { z } from 'zod';
import type { OutboundClient } from '../../outbound/outbound-client';
import { defineTask, PermanentError, type TaskContext } from '../../engine/define-task';
import { crawlableLinks, Frontier, type FrontierEntry } from './frontier';
import { HostResilience } from './host-resilience';
import { PageFetcher, type PageError } from './page-fetch';
import { decodeHtml, summarizePage, type PageSummary } from './page-summary';
import { MAX_ROBOTS_BYTES, RobotsRules, robotsRecord, robotsUrl, type RobotsRecord } from './robots';

const MAX_PAGE_BYTES = 5 * 1024 * 1024;
const HTML_TYPES = ['text/html', 'application/xhtml+xml'];
/** Links kept per page: bounds a page's checkpoint. */
const MAX_LINKS_PER_PAGE = 1_000;

const scrapeInput = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .max(2_048)
      .describe('Where the crawl starts.'),
    maxPages: z.number().int().min(1).max(1_000).default(1).describe('Pages fetched at most.'),
    maxDepth: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe('Links followed from the start URL at most (0: the start URL alone).'),
    sameOrigin: z
      .boolean()
      .default(true)
      .describe("Follow only links on the start URL's origin (or the one it redirects to)."),
    includeText: z.boolean().default(false).describe("Include each page's visible text in the result."),
    allowHosts: z
      .array(
        z
          .string()
          .max(253)
          .regex(
            /^(\*\.)?[a-z0-9.-]+$|^[0-9a-f:.]+$/i,
            'a host name, "*.domain" or an IP address (IPv6 unbracketed)',
          ),
      )
      .min(1)
      .max(100)
      .optional()
      .describe('Only these hosts (exact, or "*.example.com") may be requested, redirects included.'),
    politenessMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(500)
      .describe('Least time between two requests to one host (a robots.txt Crawl-delay can make it longer).'),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(10_000)
      .describe('Time for one request, redirects included.'),
  })
  .strict();

type ScrapeInput = z.output<typeof scrapeInput>;

export interface PageRecord extends Partial<PageSummary> {
  url: string;
  depth: number;
  /** After redirects; the requested URL when there was no answer. */
  finalUrl: string;
  /** The last answer's status, or null when there was none. */
  status: number | null;
  contentType?: string;
  redirects?: string[];
  attempts: number;
  elapsedMs: number;
  fetchedAt: string;
  error?: PageError;
}

export interface SkippedUrl extends FrontierEntry {
  reason: 'robots';
}

export interface ScrapeResult {
  summary: {
    startUrl: string;
    pages: number;
    ok: number;
    failed: number;
    refused: number;
    skippedByRobots: number;
    /** URLs found but not fetched because maxPages was reached. */
    notCrawled: number;
    /** From the first request to the end. */
    durationMs: number;
  };
  pages: PageRecord[];
  skipped: SkippedUrl[];
}

/** What one page's step checkpoints: the page, and its links, from which a replay rebuilds the frontier. */
interface PageStep {
  page: PageRecord;
  links: string[];
}

/** The `scrape` task: a breadth-first crawl, one checkpointed step per page, through the SSRF-safe client. */
export function scrapeTask(outbound: OutboundClient) {
  return defineTask({
    type: 'scrape',
    title: 'Crawl a site',
    description:
      'Crawls breadth-first from `url`, one checkpointed step per page, honouring robots.txt and a per-host delay. Each page reports its final URL, status, title, meta description, h1–h3 headings, link and image counts, word count and (with `includeText`) its text. Requests cannot reach private or loopback addresses.',
    input: scrapeInput,
    example: { url: 'https://example.com/', maxPages: 20, maxDepth: 2 },
    run: (input, ctx) => new Crawl(outbound, input, ctx).run(),
  });
}

/** One slice's run of a crawl. Everything it knows comes from the input and the steps, replayed in order. */
class Crawl {
  private readonly fetcher: PageFetcher;
  private readonly frontier: Frontier;
  private readonly robots = new Map<string, RobotsRules>();
  private readonly pages: PageRecord[] = [];
  private readonly skipped: SkippedUrl[] = [];

  constructor(
    outbound: OutboundClient,
    private readonly input: ScrapeInput,
    private readonly ctx: TaskContext,
  ) {
    this.fetcher = new PageFetcher({
      outbound,
      resilience: new HostResilience({ timeoutMs: input.timeoutMs }, ctx.log),
      timeoutMs: input.timeoutMs,
      politenessMs: input.politenessMs,
      allowHosts: input.allowHosts,
    });
    this.frontier = new Frontier(input.url, { maxDepth: input.maxDepth, sameOrigin: input.sameOrigin });
  }

  async run(): Promise<ScrapeResult> {
    const { ctx, frontier, pages } = this;
    while (pages.length < this.input.maxPages) {
      const entry = frontier.next();
      if (!entry) break;
      const rules = await this.robotsFor(entry.url);
      if (!rules.isAllowed(entry.url)) {
        this.skipped.push({ ...entry, reason: 'robots' });
        continue;
      }
      const n = pages.length;
      const { page, links } = await ctx.step(`page-${n}`, () => this.crawlPage(entry, n, rules));
      pages.push(page);
      if (n === 0) {
        if (page.error?.code === 'refused') throw new PermanentError(page.error.message, 'url_refused');
        frontier.addOrigin(page.finalUrl);
      }
      frontier.markFetched(page.finalUrl);
      frontier.add(links, entry.depth + 1);
      ctx.progress({
        current: pages.length,
        total: Math.min(this.input.maxPages, pages.length + frontier.pending),
        message: page.url,
      });
    }
    const result = this.result();
    const { summary } = result;
    ctx.log(
      'info',
      `crawled ${summary.pages} page(s): ${summary.ok} ok, ${summary.failed} failed, ${summary.refused} refused, ${summary.skippedByRobots} skipped by robots.txt`,
    );
    return result;
  }

  /** The rules of the URL's origin, its robots.txt fetched once per task (a step, so not again on resume). */
  private async robotsFor(url: string): Promise<RobotsRules> {
    const origin = new URL(url).origin;
    const known = this.robots.get(origin);
    if (known) return known;
    const record = await this.ctx.step(`robots ${origin}`, async (): Promise<RobotsRecord> => {
      const outcome = await this.fetcher.fetch(robotsUrl(origin), {
        maxBytes: MAX_ROBOTS_BYTES,
        signal: this.ctx.signal,
      });
      const fetched = robotsRecord(outcome);
      // A refused origin's pages are refused too, and each logs why.
      if (fetched.kind !== 'refused') {
        this.ctx.log('info', `robots.txt of ${origin}: ${new RobotsRules(origin, fetched).describe()}`);
      }
      return fetched;
    });
    const rules = new RobotsRules(origin, record);
    this.robots.set(origin, rules);
    return rules;
  }

  /** The body of page step `n`: fetch, summarize, keep the links. Logs each failure once, when it happens. */
  private async crawlPage(entry: FrontierEntry, n: number, rules: RobotsRules): Promise<PageStep> {
    const outcome = await this.fetcher.fetch(entry.url, {
      maxBytes: MAX_PAGE_BYTES,
      contentTypes: HTML_TYPES,
      delayMs: rules.crawlDelayMs(),
      signal: this.ctx.signal,
    });
    const fetched = {
      url: entry.url,
      depth: entry.depth,
      attempts: outcome.attempts,
      elapsedMs: outcome.elapsedMs,
      fetchedAt: new Date().toISOString(),
    };
    if ('error' in outcome) {
      this.logFailure(entry, outcome.error, outcome.attempts, n === 0 && outcome.error.code === 'refused');
      return { page: { ...fetched, finalUrl: entry.url, status: null, error: outcome.error }, links: [] };
    }
    const { response } = outcome;
    const contentType = response.headers['content-type'];
    const page: PageRecord = {
      ...fetched,
      finalUrl: response.url,
      status: response.status,
      ...(contentType ? { contentType } : {}),
      ...(response.redirects.length ? { redirects: response.redirects } : {}),
    };
    if (response.status < 200 || response.status >= 300) {
      const error: PageError = { code: 'http_status', message: `${entry.url} answered ${response.status}` };
      this.logFailure(entry, error, outcome.attempts, false);
      return { page: { ...page, error }, links: [] };
    }
    const parsed = summarizePage(
      decodeHtml(response.body, contentType),
      response.url,
      this.input.includeText,
    );
    const links =
      entry.depth < this.input.maxDepth ? crawlableLinks(parsed.hrefs, parsed.base, MAX_LINKS_PER_PAGE) : [];
    return { page: { ...page, ...parsed.summary }, links };
  }

  private logFailure(entry: FrontierEntry, error: PageError, attempts: number, fatal: boolean): void {
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    this.ctx.log(fatal ? 'error' : 'warn', `${error.message}${tries}`, { url: entry.url, code: error.code });
  }

  private result(): ScrapeResult {
    const { pages } = this;
    const refused = pages.filter((p) => p.error?.code === 'refused').length;
    const ok = pages.filter((p) => !p.error).length;
    const first = pages[0] ? Date.parse(pages[0].fetchedAt) - pages[0].elapsedMs : Date.now();
    return {
      summary: {
        startUrl: this.input.url,
        pages: pages.length,
        ok,
        failed: pages.length - ok - refused,
        refused,
        skippedByRobots: this.skipped.length,
        notCrawled: this.frontier.pending,
        durationMs: Date.now() - first,
      },
      pages,
      skipped: this.skipped,
    };
  }
}
