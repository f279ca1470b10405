import robotsParser from 'robots-parser';
import type { FetchOutcome } from './page-fetch';

/** The product token of our User-Agent: robots.txt groups that name it apply to us, else the `*` group. */
const ROBOTS_AGENT = 'Longhaul';
/** RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt. */
export const MAX_ROBOTS_BYTES = 512 * 1024;
/** A Crawl-delay beyond this is read as this, so one line cannot stall a crawl for hours per page. */
const MAX_CRAWL_DELAY_MS = 60_000;

/** What the crawl checkpoints about a host's robots.txt: enough to rebuild its rules on replay. */
export type RobotsRecord =
  { kind: 'rules'; text: string } | { kind: 'allow-all' | 'disallow-all' | 'refused'; reason: string };

export const robotsUrl = (origin: string): string => `${origin}/robots.txt`;

/**
 * How RFC 9309 reads the answer to `GET /robots.txt`: a 2xx body holds the rules; a 4xx, too many redirects or a file
 * too large means it is unavailable: no rules; a 5xx, a timeout or a network failure means it is unreachable and the
 * whole host is off limits (and so does a 429: the host asks us to stay away). A refused address allows everything
 * here only because every page there is refused too, each with its reason.
 */
export function robotsRecord(outcome: FetchOutcome): RobotsRecord {
  if ('error' in outcome) {
    const { code, message } = outcome.error;
    if (code === 'refused') return { kind: 'refused', reason: message };
    if (code === 'too_large' || code === 'too_many_redirects') return { kind: 'allow-all', reason: message };
    return { kind: 'disallow-all', reason: message };
  }
  const { status, body } = outcome.response;
  if (status >= 200 && status < 300) return { kind: 'rules', text: body.toString('utf8') };
  const reason = `robots.txt answered ${status}`;
  return status >= 500 || status === 429 ? { kind: 'disallow-all', reason } : { kind: 'allow-all', reason };
}

/** One origin's robots.txt rules for our agent: Allow/Disallow by longest match, wildcards, Crawl-delay. */
export class RobotsRules {
  private readonly parsed;

  constructor(
    origin: string,
    readonly record: RobotsRecord,
  ) {
    this.parsed = record.kind === 'rules' ? robotsParser(robotsUrl(origin), record.text) : undefined;
  }

  isAllowed(url: string): boolean {
    if (this.record.kind !== 'rules') return this.record.kind !== 'disallow-all';
    // undefined means another origin's URL: these rules say nothing about it.
    return this.parsed?.isAllowed(url, ROBOTS_AGENT) ?? true;
  }

  /** The Crawl-delay for our agent, in ms (bounded), or 0. */
  crawlDelayMs(): number {
    const seconds = this.parsed?.getCrawlDelay(ROBOTS_AGENT) ?? 0;
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_CRAWL_DELAY_MS) : 0;
  }

  /** One line for the task's log. */
  describe(): string {
    if (this.record.kind === 'rules') {
      const delay = this.crawlDelayMs();
      return `rules read (${this.record.text.length} characters${delay ? `, crawl-delay ${delay} ms` : ''})`;
    }
    if (this.record.kind === 'disallow-all')
      return `unreachable (${this.record.reason}): nothing on this host is crawled`;
    return `no rules (${this.record.reason}): every path allowed`;
  }
}
