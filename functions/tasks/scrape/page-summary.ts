import { parse } from 'node-html-parser';

export interface Heading {
  level: 1 | 2 | 3;
  text: string;
}

/** What the crawl reports about one HTML page. */
export interface PageSummary {
  title: string | null;
  description: string | null;
  /** h1–h3 in document order. */
  headings: Heading[];
  /** `<a href>` elements. */
  links: number;
  images: number;
  words: number;
  /** The visible text, when asked for. */
  text?: string;
  textTruncated?: boolean;
}

export interface ParsedPage {
  summary: PageSummary;
  /** Every link's href as written, in document order. */
  hrefs: string[];
  /** What relative links resolve against: the page's `<base href>` if it has one, else its URL. */
  base: string;
}

/** Bounds on what one page adds to its checkpoint and to the result. */
const MAX_HEADINGS = 100;
const MAX_FIELD_CHARS = 1_000;
export const MAX_TEXT_CHARS = 50_000;

/** Elements whose content a reader never sees. */
const INVISIBLE = 'script, style, noscript, template, svg, head';
/** A word: letters or digits, with inner apostrophes or hyphens ("don't", "well-known"). */
const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** Title, description, headings, counts, links and (when asked) visible text of an HTML page. */
export function summarizePage(html: string, pageUrl: string, includeText: boolean): ParsedPage {
  // `pre` keeps its text as text; script and style bodies are dropped at parse time.
  const root = parse(html, { blockTextElements: { pre: true } });
  const title = root.querySelector('title');
  const description = root
    .querySelectorAll('meta[content]')
    .find((m) => m.getAttribute('name')?.toLowerCase() === 'description');
  const headings = root
    .querySelectorAll('h1, h2, h3')
    .slice(0, MAX_HEADINGS)
    .map((h) => ({ level: Number(h.tagName[1]) as Heading['level'], text: field(h.text) ?? '' }));
  const anchors = root.querySelectorAll('a[href]');
  const baseHref = root.querySelector('base[href]')?.getAttribute('href');
  const images = root.querySelectorAll('img').length;

  for (const hidden of root.querySelectorAll(INVISIBLE)) hidden.remove();
  const text = (root.querySelector('body') ?? root).structuredText.trim();
  const summary: PageSummary = {
    title: title ? field(title.text) : null,
    description: field(description?.getAttribute('content')),
    headings,
    links: anchors.length,
    images,
    words: text.match(WORD)?.length ?? 0,
  };
  if (includeText) {
    summary.text = text.slice(0, MAX_TEXT_CHARS);
    if (text.length > MAX_TEXT_CHARS) summary.textTruncated = true;
  }
  return {
    summary,
    hrefs: anchors.map((a) => a.getAttribute('href') ?? ''),
    base: resolvedBase(baseHref, pageUrl),
  };
}

/** A response body as text, in the charset its Content-Type names (UTF-8 when none or unknown). */
export function decodeHtml(body: Buffer, contentType: string | undefined): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder().decode(body);
  }
}

function field(value: string | undefined): string | null {
  const text = value?.replace(/\s+/g, ' ').trim();
  return text ? text.slice(0, MAX_FIELD_CHARS) : null;
}

function resolvedBase(baseHref: string | undefined, pageUrl: string): string {
  if (!baseHref) return pageUrl;
  return URL.canParse(baseHref, pageUrl) ? new URL(baseHref, pageUrl).href : pageUrl;
}
