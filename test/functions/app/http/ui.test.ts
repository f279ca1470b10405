import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeAppServices } from '../../../../functions/app/app-services';
import { getUiAsset } from '../../../../functions/app/http/handlers/ui';
import { triggers } from '../../../../functions/app/triggers';
import type { HttpTrigger } from '../../../../functions/app/trigger-types';
import type { LocalHost } from '../../../../local-dev/host';
import { findRepoRoot } from '../../../../local-dev/services/repo-root';
import { startAppHost } from '../../../support/app-host';
import { useSettings } from '../../../support/app-stack';
import { call } from '../../../support/http';
import { OFFLINE_SETTINGS } from '../../../support/offline-settings';

const root = findRepoRoot();
const uiDir = join(root, 'functions/ui');
const fallback = (triggers.find((t) => t.name === 'fallback') as HttpTrigger).handler;

/** A raw request, so that paths reach the server exactly as written (fetch would normalize `..`). */
function rawGet(
  base: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web UI as static files', () => {
  let host: LocalHost;
  let restoreEnv: () => void;
  before(async () => {
    restoreEnv = useSettings(OFFLINE_SETTINGS);
    await closeAppServices();
    host = await startAppHost(OFFLINE_SETTINGS, { triggers: triggers.filter((t) => t.kind === 'http') });
  });
  after(async () => {
    await host.close();
    await closeAppServices();
    restoreEnv();
  });

  it('serves the page at / with a strict Content-Security-Policy that admits the Blob endpoint', async () => {
    const res = await fetch(`${host.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|; )default-src 'self'(;|$)/);
    assert.match(csp, /(^|; )connect-src 'self' http:\/\/127\.0\.0\.1:10000(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(await res.text(), /<script type="module" src="\/ui\/app\.js"><\/script>/);
    const head = await fetch(`${host.url}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('serves every file the page and its modules name, each with its content type', async () => {
    const page = readFileSync(join(uiDir, 'index.html'), 'utf8');
    const referenced = [...page.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)].map((m) => m[1]);
    for (const file of readdirSync(uiDir).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(uiDir, file), 'utf8');
      referenced.push(...[...source.matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]));
    }
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const file of new Set(referenced)) {
      const res = await fetch(`${host.url}/ui/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), types[file.split('.').pop() ?? ''], file);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', file);
    }
  });

  it('revalidates with an ETag', async () => {
    const first = await fetch(`${host.url}/ui/styles.css`);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[\w-]+"$/);
    const again = await fetch(`${host.url}/ui/styles.css`, { headers: { 'if-none-match': `W/${etag}` } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  it('answers unknown files, other paths and other methods with problems', async () => {
    for (const path of ['/ui/nope.js', '/ui', '/ui/', '/nope', '/api/nope']) {
      const res = await fetch(`${host.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', path);
    }
    const post = await fetch(`${host.url}/`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const put = await fetch(`${host.url}/ui/app.js`, { method: 'PUT' });
    assert.equal(put.status, 405);
  });

  it('refuses paths that climb out of functions/ui', async () => {
    for (const path of [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/..%2fpackage.json',
      '/ui/..%5cpackage.json',
      '/ui/%2e%2e%2f%2e%2e%2fhost.json',
      '/ui/../../functions/ui/app.js/../../../package.json',
    ]) {
      const res = await rawGet(host.url, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name": "longhaul"|routePrefix/, path);
    }
    // The handler itself only serves names of its table, whatever the route parameter says.
    for (const name of ['../package.json', '../../host.json', '/etc/passwd', 'ui/../app.js', '']) {
      const res = await call(getUiAsset, { path: `/ui/${name}`, params: { path: name } });
      assert.equal(res.status, 404, name);
    }
  });

  it('names the configured Blob endpoint under managed identity', async () => {
    process.env.TASKS_STORAGE = '';
    process.env.TASKS_STORAGE__blobServiceUri = 'https://longhaulst.blob.core.windows.net/';
    process.env.TASKS_STORAGE__tableServiceUri = 'https://longhaulst.table.core.windows.net/';
    await closeAppServices();
    try {
      const res = await call(fallback, { path: '/' });
      assert.equal(res.status, 200);
      assert.match(
        res.headers.get('content-security-policy') ?? '',
        /connect-src 'self' https:\/\/longhaulst\.blob\.core\.windows\.net(;|$)/,
      );
    } finally {
      delete process.env.TASKS_STORAGE__blobServiceUri;
      delete process.env.TASKS_STORAGE__tableServiceUri;
      process.env.TASKS_STORAGE = OFFLINE_SETTINGS.TASKS_STORAGE;
      await closeAppServices();
    }
  });

  it('has no inline script, style or event handler that a strict CSP would block', () => {
    const page = readFileSync(join(uiDir, 'index.html'), 'utf8');
    for (const script of page.matchAll(/<script\b[^>]*>/g)) assert.match(script[0], /\ssrc="/);
    assert.doesNotMatch(page, /<style|\sstyle=|\son[a-z]+=/i);
    for (const file of readdirSync(uiDir).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(uiDir, file), 'utf8');
      assert.doesNotMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function|'style'/, file);
    }
  });
});
