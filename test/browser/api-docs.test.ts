import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { closeAppServices } from '../../functions/app/app-services';
import { triggers } from '../../functions/app/triggers';
import type { LocalHost } from '../../local-dev/host';
import { startAppHost } from '../support/app-host';
import { useSettings } from '../support/app-stack';
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
