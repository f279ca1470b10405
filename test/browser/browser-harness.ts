import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { installHint } from '../../local-dev/services/install-hints';
import { findRepoRoot } from '../../local-dev/services/repo-root';

/** Debian's Chromium (`.ci/run` installs it); playwright-core downloads no browser of its own. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const ARTIFACTS = join(findRepoRoot(), 'test/artifacts');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: ${installHint('chromium')}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // Root in a container has no user namespaces for Chromium's sandbox.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** What went wrong in a page: uncaught errors, console errors, and CSP violations (reported as console errors). */
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A refused request (the tests refuse some on purpose) is logged as a console error too.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return errors;
}

/** Saved under test/artifacts/ (ignored by git); docs/images/ has committed copies. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}
