import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  crawlableLinks,
  Frontier,
  normalizeUrl,
  type FrontierEntry,
} from '../../../../functions/tasks/scrape/frontier';

const drain = (frontier: Frontier): FrontierEntry[] => {
  const out: FrontierEntry[] = [];
  for (let e = frontier.next(); e; e = frontier.next()) out.push(e);
  return out;
};

describe('frontier', () => {
  test('URLs are resolved and normalized: fragments dropped, only http(s), encoded hosts decoded', () => {
    const base = 'https://Example.COM:443/dir/page?q=1';
    assert.equal(normalizeUrl('../up#frag', base), 'https://example.com/up');
    assert.equal(normalizeUrl('  ?x=2 ', base), 'https://example.com/dir/page?x=2');
    assert.equal(normalizeUrl('//cdn.example.com/a', base), 'https://cdn.example.com/a');
    assert.equal(normalizeUrl('http://2130706433:8080/a', base), 'http://127.0.0.1:8080/a');
    for (const href of [
      'mailto:a@b.c',
      'javascript:void(0)',
      'ftp://x/',
      'data:text/html,hi',
      'http://[::1',
    ]) {
      assert.equal(normalizeUrl(href, base), undefined, href);
    }
    assert.deepEqual(crawlableLinks(['/a', '/a#x', '/b', 'mailto:x', '/c'], base, 2), [
      'https://example.com/a',
      'https://example.com/b',
    ]);
  });

  test('breadth first: every page of depth d before any of depth d+1, each URL once', () => {
    const f = new Frontier('https://example.com/', { maxDepth: 5, sameOrigin: true });
    const start = f.next()!;
    assert.deepEqual(start, { url: 'https://example.com/', depth: 0 });
    f.markFetched(start.url);
    f.add(['https://example.com/a', 'https://example.com/b', 'https://example.com/'], 1);
    const a = f.next()!;
    f.add(['https://example.com/a1', 'https://example.com/b'], 2);
    assert.equal(a.url, 'https://example.com/a');
    assert.deepEqual(drain(f), [
      { url: 'https://example.com/b', depth: 1 },
      { url: 'https://example.com/a1', depth: 2 },
    ]);
  });

  test('links beyond maxDepth, off origin, or past the bound on known URLs are not queued', () => {
    const f = new Frontier('https://example.com/', { maxDepth: 1, sameOrigin: true, maxKnown: 3 });
    f.next();
    f.add(['https://other.example/', 'http://example.com/x', 'https://example.com/1'], 1);
    f.add(['https://example.com/deep'], 2);
    f.add(['https://example.com/2', 'https://example.com/3'], 1);
    assert.deepEqual(
      drain(f).map((e) => e.url),
      ['https://example.com/1', 'https://example.com/2'],
    );
    const open = new Frontier('https://example.com/', { maxDepth: 1, sameOrigin: false });
    open.next();
    open.add(['https://other.example/'], 1);
    assert.equal(open.pending, 1);
  });

  test("a start URL that redirects makes its target's origin the crawl's too", () => {
    const f = new Frontier('http://example.com/', { maxDepth: 2, sameOrigin: true });
    f.next();
    f.addOrigin('https://www.example.com/');
    f.markFetched('https://www.example.com/');
    f.add(['https://www.example.com/a', 'https://www.example.com/'], 1);
    assert.deepEqual(
      drain(f).map((e) => e.url),
      ['https://www.example.com/a'],
    );
  });

  test("a redirect's target that is also queued is fetched once", () => {
    const f = new Frontier('https://example.com/', { maxDepth: 2, sameOrigin: true });
    f.next();
    f.add(['https://example.com/old', 'https://example.com/new', 'https://example.com/other'], 1);
    assert.equal(f.next()?.url, 'https://example.com/old');
    f.markFetched('https://example.com/new'); // /old redirected there
    assert.equal(f.next()?.url, 'https://example.com/other');
    assert.equal(f.next(), undefined);
  });

  test('replaying the same pages rebuilds the same order (what a resumed slice relies on)', () => {
    const pages = [
      { links: ['https://example.com/b', 'https://example.com/a'] },
      { links: ['https://example.com/c', 'https://example.com/a'] },
      { links: ['https://example.com/d'] },
    ];
    const crawl = () => {
      const f = new Frontier('https://example.com/', { maxDepth: 3, sameOrigin: true });
      const order: string[] = [];
      for (const page of pages) {
        const e = f.next()!;
        order.push(e.url);
        f.markFetched(e.url);
        f.add(page.links, e.depth + 1);
      }
      return [...order, ...drain(f).map((e) => e.url)];
    };
    assert.deepEqual(crawl(), crawl());
    assert.deepEqual(crawl(), [
      'https://example.com/',
      'https://example.com/b',
      'https://example.com/a',
      'https://example.com/c',
      'https://example.com/d',
    ]);
  });
});
