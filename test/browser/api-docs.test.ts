import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { closeAppServices } from '../../functions/app-services';
import { triggers } from '../../functions/triggers';
import { startLocalHost, type LocalHost } from '../../local-dev/host';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import { useSettings } from '../support/app-stack';
import { launchBrowser, watchForErrors } from './browser-harness';

/** Settings that only have to parse: the docs and the OpenAPI document open no connection. */
const SETTINGS: Record<string, string> = {
  ServiceBusConnection:
    'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true;',
  TASKS_STORAGE: 'UseDevelopmentStorage=true',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
  REDIS_URL: 'redis://127.0.0.1:1',
};

/** Swagger UI under its own Content-Security-Policy (functions/http/handlers/api-docs.ts), driven by Chromium. */
describe('Swagger UI at /api/docs in a browser', () => {
  let host: LocalHost;
  let browser: Browser;
  let restoreEnv: () => void;

  before(async () => {
    restoreEnv = useSettings(SETTINGS);
    await closeAppServices();
    const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
    [host, browser] = await Promise.all([
      startLocalHost({
        triggers: triggers.filter((t) => t.kind === 'http'),
        port: 0,
        settings: SETTINGS,
        hostJson,
        log: () => undefined,
      }),
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
