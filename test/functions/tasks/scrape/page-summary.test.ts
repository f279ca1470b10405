import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeHtml, MAX_TEXT_CHARS, summarizePage } from '../../../../functions/tasks/scrape/page-summary';

const PAGE = `<!doctype html>
<html>
  <head>
    <title>  The   Title &amp; more </title>
    <meta name="viewport" content="width=device-width">
    <meta NAME="Description" content="  What this page
      is about. ">
    <style>body { color: red }</style>
    <script>var hidden = "script words";</script>
  </head>
  <body>
    <h1>Main heading</h1>
    <p>Four words of text, don't count punctuation — please.</p>
    <h3>Third <em>level</em></h3>
    <h2>Second</h2>
    <h4>Not reported</h4>
    <noscript>enable javascript</noscript>
    <template><p>inert template</p></template>
    <a href="/about">About</a> <a href="next#part">Next</a> <a>no href</a>
    <img src="a.png"><img src="b.png" alt="">
  </body>
</html>`;

describe('page summary', () => {
  test('reads title, meta description, h1-h3 in document order, link and image counts', () => {
    const { summary, hrefs, base } = summarizePage(PAGE, 'https://example.com/dir/page', false);
    assert.equal(summary.title, 'The Title & more');
    assert.equal(summary.description, 'What this page is about.');
    assert.deepEqual(summary.headings, [
      { level: 1, text: 'Main heading' },
      { level: 3, text: 'Third level' },
      { level: 2, text: 'Second' },
    ]);
    assert.equal(summary.links, 2);
    assert.equal(summary.images, 2);
    assert.deepEqual(hrefs, ['/about', 'next#part']);
    assert.equal(base, 'https://example.com/dir/page');
    assert.equal(summary.text, undefined);
  });

  test('counts and returns only visible words: no script, style, noscript or template', () => {
    const { summary } = summarizePage(PAGE, 'https://example.com/', true);
    const text = summary.text ?? '';
    for (const hidden of ['script words', 'color', 'enable javascript', 'inert template', 'The Title']) {
      assert.ok(!text.includes(hidden), `"${hidden}" is not visible text`);
    }
    assert.match(text, /Main heading/);
    assert.match(text, /don't count punctuation — please\./);
    // Main heading (2) + sentence (8) + Third level (2) + Second (1) + Not reported (2) + About Next no href (4)
    assert.equal(summary.words, 19);
  });

  test('a page without title or description reports null; <base href> sets where links resolve', () => {
    const { summary, base } = summarizePage(
      '<base href="/other/"><p>x</p>',
      'https://example.com/a/b',
      false,
    );
    assert.equal(summary.title, null);
    assert.equal(summary.description, null);
    assert.equal(base, 'https://example.com/other/');
  });

  test('long text is cut and marked', () => {
    const html = `<body><p>${'word '.repeat(MAX_TEXT_CHARS / 2)}</p></body>`;
    const { summary } = summarizePage(html, 'https://example.com/', true);
    assert.equal(summary.text?.length, MAX_TEXT_CHARS);
    assert.equal(summary.textTruncated, true);
    assert.equal(summary.words, MAX_TEXT_CHARS / 2);
  });

  test('bodies are decoded in the charset the Content-Type names, UTF-8 otherwise', () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
    assert.equal(decodeHtml(latin1, 'text/html; charset="ISO-8859-1"'), 'café');
    assert.equal(decodeHtml(Buffer.from('café'), 'text/html'), 'café');
    assert.equal(decodeHtml(Buffer.from('café'), 'text/html; charset=no-such-charset'), 'café');
  });
});
