import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { closeAppServices } from '../../functions/app/app-services';
import { triggers } from '../../functions/app/triggers';
import type { LocalHost } from '../../local-dev/host';
import { startAppHost } from '../support/app-host';
import { startAppStack, useSettings, type AppStack } from '../support/app-stack';
import { OFFLINE_SETTINGS } from '../support/offline-settings';
import { launchBrowser, watchForErrors } from './browser-harness';

/** Swagger UI under its own Content-Security-Policy (functions/app/http/handlers/api-docs.ts), driven by Chromium. */
describe('Swagger UI at /api/docs in a browser', () => {
  let host: LocalHost;
  let browser: Browser;
  let restoreEnv: () => void;

  before(async () => {
    restoreEnv = useSettings(OFFLINE_SETTINGS);
    await closeAppServices();
    [host, browser] = await Promise.all([
      startAppHost(OFFLINE_SETTINGS, { triggers: triggers.filter((t) => t.kind === 'http') }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await closeAppServices();
    restoreEnv();
  });

  it('renders the operations of the OpenAPI document with no CSP violation or console error', async () => {
    const page = await browser.newPage();
    const errors = watchForErrors(page);
    const response = await page.goto(`${host.url}/api/docs`);
    assert.match(response?.headers()['content-security-policy'] ?? '', /^default-src 'self'/);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    assert.ok((await page.locator('.opblock').count()) >= 10);
    // Swagger UI styles itself after the first render; give late violations the time to show.
    await page.waitForTimeout(500);
    assert.deepEqual(errors, []);
  });
});

/** "Try it out" against the local stack: every example body of POST /api/tasks is accepted as it stands. */
describe('Swagger UI: Try it out on POST /api/tasks, one example per task type', () => {
  let stack: AppStack;
  let host: LocalHost;
  let browser: Browser;

  before(async () => {
    stack = await startAppStack();
    [host, browser] = await Promise.all([
      startAppHost(stack.settings, { triggers: triggers.filter((t) => t.kind === 'http') }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await stack?.stop();
  });

  it('each example, executed from the page, gets 202', async () => {
    const page = await browser.newPage();
    const errors = watchForErrors(page);
    await page.goto(`${host.url}/api/docs`);
    const submit = page
      .locator('.opblock-post')
      .filter({ has: page.locator('.opblock-summary-path[data-path="/api/tasks"]') });
    await submit.locator('.opblock-summary').click();
    await submit.locator('button.try-out__btn').click();
    const examples = submit.locator('select.examples-select-element');
    const names = await examples
      .locator('option')
      .evaluateAll((options) => options.map((o) => (o as { value: string }).value));
    assert.deepEqual(names.sort(), ['approval', 'dataset', 'scrape', 'simulate']);
    for (const name of names) {
      await examples.selectOption(name);
      await submit.locator('button.execute').click();
      const status = submit.locator('.live-responses-table tr.response .response-col_status').first();
      await status.waitFor({ timeout: 15_000 });
      assert.equal((await status.innerText()).trim(), '202', name);
      await submit.locator('button.btn-clear').click();
    }
    const { rows } = await stack.pool.query<{ type: string }>('SELECT type FROM tasks ORDER BY type');
    assert.deepEqual(
      rows.map((r) => r.type),
      ['approval', 'dataset', 'scrape', 'simulate'],
    );
    assert.deepEqual(errors, []);
  });
});
