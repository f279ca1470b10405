export interface FrontierEntry {
  url: string;
  /** Links followed from the start URL (which is depth 0). */
  depth: number;
}

export interface FrontierOptions {
  maxDepth: number;
  /** Follow only links on the start URL's origin (or the origin it redirected to). */
  sameOrigin: boolean;
  /** URLs known at most: bounds memory and checkpoints on pages with huge link lists. */
  maxKnown?: number;
}

const MAX_KNOWN = 10_000;

/** A link as the crawl knows it: absolute, http(s), without fragment; undefined when it cannot be crawled. */
export function normalizeUrl(href: string, base: string): string | undefined {
  const trimmed = href.trim();
  if (!URL.canParse(trimmed, base)) return undefined;
  const url = new URL(trimmed, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.hash = '';
  return url.href;
}

/** A page's links as the crawl keeps them: normalized, each once, in document order, at most `max`. */
export function crawlableLinks(hrefs: readonly string[], base: string, max: number): string[] {
  const links = new Set<string>();
  for (const href of hrefs) {
    if (links.size >= max) break;
    const url = normalizeUrl(href, base);
    if (url) links.add(url);
  }
  return [...links];
}

/**
 * The breadth-first crawl order: a queue of URLs with their depth and the set of URLs already known. Its state is
 * rebuilt on every slice from the checkpointed pages alone (`add`, `markFetched` and `addOrigin` with what they
 * recorded, in page order), so it needs no storage of its own and comes out the same after any crash.
 */
export class Frontier {
  private readonly queue: FrontierEntry[] = [];
  private head = 0;
  /** Queued or fetched: never queued again. */
  private readonly known = new Set<string>();
  /** Fetched, perhaps as a redirect's target: skipped when its own turn comes. */
  private readonly fetched = new Set<string>();
  private readonly origins = new Set<string>();
  private readonly maxKnown: number;

  constructor(
    start: string,
    private readonly options: FrontierOptions,
  ) {
    const url = normalizeUrl(start, start);
    if (!url) throw new Error(`not an http(s) URL: ${start}`);
    this.maxKnown = options.maxKnown ?? MAX_KNOWN;
    this.origins.add(new URL(url).origin);
    this.add([url], 0);
  }

  /** The next URL to fetch, breadth first, or undefined when none is left. */
  next(): FrontierEntry | undefined {
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head++];
      if (!this.fetched.has(entry.url)) return entry;
    }
    return undefined;
  }

  /** URLs queued and not yet handed out. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues the links of a page at `depth - 1` (from a live fetch or a checkpoint alike) that are new to the crawl and
   * within depth, origin and the bound on known URLs.
   */
  add(urls: readonly string[], depth: number): void {
    if (depth > this.options.maxDepth) return;
    for (const url of urls) {
      if (this.known.size >= this.maxKnown) return;
      if (this.known.has(url)) continue;
      if (this.options.sameOrigin && !this.origins.has(new URL(url).origin)) continue;
      this.known.add(url);
      this.queue.push({ url, depth });
    }
  }

  /** Records a page's final URL, so a redirect's target is fetched once even when it is also linked. */
  markFetched(url: string): void {
    this.known.add(url);
    this.fetched.add(url);
  }

  /** Treats a URL's origin as the start's: for a start URL that redirects (http to https, or to `www.`). */
  addOrigin(url: string): void {
    this.origins.add(new URL(url).origin);
  }
}
