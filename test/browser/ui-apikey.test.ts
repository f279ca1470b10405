import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { LocalHost } from '../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../support/api-keys';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost } from '../support/engine-harness';
import { launchBrowser, watchForErrors } from './browser-harness';

/** The web UI with AUTH_MODE=apikey: a key asked once per tab, sent as a header, and stream tokens for EventSource. */
describe('the web UI with API keys', () => {
  let stack: AppStack;
  let host: LocalHost;
  let browser: Browser;

  before(async () => {
    [{ stack, host }, browser] = await Promise.all([startAppOnLocalHost(APIKEY_SETTINGS), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await stack?.stop();
  });

  it(
    'asks for a key, then works with it: live streams, a task to the end, its result',
    { timeout: 30_000 },
    async () => {
      const { key } = await keysCli('create', '--owner', 'browser-user');
      const context = await browser.newContext({ baseURL: host.url, acceptDownloads: true });
      const page = await context.newPage();
      const errors = watchForErrors(page);
      const requests: Array<{ url: string; authorization?: string }> = [];
      page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
      await page.goto('/');

      await page.fill('#api-key', 'lh_wrong');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('#api-key-error', { hasText: 'That key was not accepted.' }).waitFor();
      await page.fill('#api-key', key);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('#connection-label', { hasText: 'Live' }).waitFor({ timeout: 15_000 });

      await page.fill('#f-input-steps', '3');
      await page.fill('#f-input-stepMs', '50');
      await page.getByRole('button', { name: 'Submit task' }).click();
      const id = ((await page.locator('.form-notice a').getAttribute('href')) ?? '').replace('#/tasks/', '');
      await page.locator(`li[data-task-id="${id}"] .badge`, { hasText: 'succeeded' }).waitFor();
      await page.locator(`li[data-task-id="${id}"] a.task-link`).click();
      await page.locator('.result-json').waitFor();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download JSON' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), `result-${id}.json`);

      // A reload keeps the key (sessionStorage): no form again.
      await page.reload();
      await page.locator('#connection-label', { hasText: 'Live' }).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('#api-key').count(), 0);

      const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/'));
      const streams = api.filter((r) => /\/events\b/.test(r.url) && r.url.includes('token='));
      assert.ok(
        streams.some((r) => new URL(r.url).pathname === '/api/events'),
        'the caller stream with a token',
      );
      for (const r of api.filter((x) => !streams.includes(x))) {
        assert.ok(!r.url.includes('token='), `no token outside the SSE URLs: ${r.url}`);
        if (r.authorization) assert.match(r.authorization, /^Bearer lh_/);
      }
      assert.ok(api.some((r) => r.authorization === `Bearer ${key}`));
      await context.close();
      assert.deepEqual(errors, [], 'no script errors and no CSP violations');
    },
  );
});
