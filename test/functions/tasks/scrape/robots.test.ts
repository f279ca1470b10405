import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchOutcome } from '../../../../functions/tasks/scrape/page-fetch';
import { robotsRecord, RobotsRules, robotsUrl } from '../../../../functions/tasks/scrape/robots';

const ORIGIN = 'https://example.com';
const rules = (text: string) => new RobotsRules(ORIGIN, { kind: 'rules', text });
const answered = (status: number, body = ''): FetchOutcome => ({
  response: { url: robotsUrl(ORIGIN), status, headers: {}, body: Buffer.from(body), redirects: [] },
  attempts: 1,
  elapsedMs: 1,
});
const failed = (code: 'refused' | 'timeout' | 'network' | 'too_large'): FetchOutcome => ({
  error: { code, message: `${code} happened` },
  attempts: 1,
  elapsedMs: 1,
});

describe('robots.txt rules', () => {
  test('the group naming Longhaul applies instead of *; the longest matching rule wins', () => {
    const robots = rules(
      [
        'User-agent: *',
        'Disallow: /',
        '',
        'User-agent: OtherBot',
        'User-agent: Longhaul',
        'Disallow: /private',
        'Allow: /private/open',
        'Disallow: /*.pdf$',
      ].join('\n'),
    );
    assert.equal(robots.isAllowed(`${ORIGIN}/`), true);
    assert.equal(robots.isAllowed(`${ORIGIN}/private`), false);
    assert.equal(robots.isAllowed(`${ORIGIN}/private/secret`), false);
    assert.equal(robots.isAllowed(`${ORIGIN}/private/open/page`), true);
    assert.equal(robots.isAllowed(`${ORIGIN}/docs/a.pdf`), false);
    assert.equal(robots.isAllowed(`${ORIGIN}/docs/a.pdf?x=1`), true);
  });

  test('without a Longhaul group the * group applies, with its Crawl-delay', () => {
    const robots = rules('User-agent: *\nCrawl-delay: 2\nDisallow: /tmp/\n');
    assert.equal(robots.isAllowed(`${ORIGIN}/tmp/x`), false);
    assert.equal(robots.isAllowed(`${ORIGIN}/tmpfile`), true);
    assert.equal(robots.crawlDelayMs(), 2_000);
    assert.equal(rules('User-agent: *\nCrawl-delay: 86400\n').crawlDelayMs(), 60_000, 'bounded');
    assert.equal(rules('User-agent: *\nDisallow:\n').crawlDelayMs(), 0);
    assert.match(robots.describe(), /crawl-delay 2000 ms/);
  });

  test('an equal-length Allow beats Disallow; rules say nothing about another origin', () => {
    const robots = rules('User-agent: *\nDisallow: /page\nAllow: /page\n');
    assert.equal(robots.isAllowed(`${ORIGIN}/page`), true);
    assert.equal(rules('User-agent: *\nDisallow: /\n').isAllowed('https://other.example/x'), true);
  });

  test('answers are read as RFC 9309 says: 2xx rules, 4xx none, 5xx and failures disallow everything', () => {
    assert.deepEqual(robotsRecord(answered(200, 'User-agent: *\nDisallow: /x')), {
      kind: 'rules',
      text: 'User-agent: *\nDisallow: /x',
    });
    const cases: Array<[FetchOutcome, boolean]> = [
      [answered(404), true],
      [answered(403), true],
      [answered(503), false],
      [answered(429), false],
      [answered(302), true],
      [failed('timeout'), false],
      [failed('network'), false],
      [failed('too_large'), true],
      [failed('refused'), true],
    ];
    for (const [outcome, allowed] of cases) {
      const robots = new RobotsRules(ORIGIN, robotsRecord(outcome));
      assert.equal(robots.isAllowed(`${ORIGIN}/any`), allowed, JSON.stringify(robots.record));
    }
    assert.match(new RobotsRules(ORIGIN, robotsRecord(answered(500))).describe(), /unreachable .*500/);
    assert.match(new RobotsRules(ORIGIN, robotsRecord(answered(404))).describe(), /every path allowed/);
  });
});
