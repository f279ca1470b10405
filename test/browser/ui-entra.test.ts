import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { LocalHost } from '../../local-dev/host';
import { startAppStack, type AppStack } from '../support/app-stack';
import { startHostProcess, startWorker } from '../support/engine-harness';
import { startMockEntra, type MockEntra } from '../support/mock-entra';
import { launchBrowser, screenshot, watchForErrors } from './browser-harness';

/**
 * The web UI with AUTH_MODE=entra: MSAL.js signs in (authorization code + PKCE, redirect flow), API calls carry the
 * access token, EventSource uses stream tokens. Entra ID cannot run here: a local stand-in (test/support/mock-entra.ts)
 * serves OpenID Connect over HTTPS (MSAL.js refuses plain-HTTP authorities) with a certificate made by openssl for this
 * run; the browser ignores that it is self-signed, the API process trusts it through NODE_EXTRA_CA_CERTS.
 */
describe('the web UI with Entra ID', () => {
  let dir: string;
  let entra: MockEntra;
  let stack: AppStack;
  let api: { child: ChildProcess; url: string };
  let worker: LocalHost;
  let browser: Browser;

  // With a time limit: a host process that died before serving would otherwise be waited for forever.
  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'longhaul-entra-'));
      const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
      const request = 'req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1';
      const args = [
        ...request.split(' '),
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ];
      execFileSync('openssl', args, { stdio: 'ignore' });
      const tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
      entra = await startMockEntra(tls);
      [stack, browser] = await Promise.all([startAppStack(entra.settings), launchBrowser()]);
      [api, worker] = await Promise.all([
        startHostProcess({ NODE_EXTRA_CA_CERTS: cert }, 'http'),
        startWorker(stack),
      ]);
    },
    { timeout: 90_000 },
  );
  after(async () => {
    await browser?.close();
    api?.child.kill('SIGTERM');
    await worker?.close();
    await stack?.stop();
    await entra?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signedInPage = async (name: string) => {
    const context = await browser.newContext({ baseURL: api.url, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const errors = watchForErrors(page);
    const requests: Array<{ url: string; authorization?: string }> = [];
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
    await page.goto('/');
    try {
      await page.locator('#account-name', { hasText: name }).waitFor({ timeout: 15_000 });
      await page.locator('#connection-label', { hasText: 'Live' }).waitFor({ timeout: 15_000 });
    } catch (err) {
      const trail = requests.map((r) => r.url.replace(/([?#&](code|state|client_info)=)[^&]*/g, '$1…'));
      const shown = (await page.content()).slice(0, 500);
      throw new Error(
        `not signed in at ${page.url()}: ${String(err)}\n${[...errors, ...trail, shown].join('\n')}`,
      );
    }
    return { page, errors, requests };
  };
  const taskItem = (page: Page, id: string) => page.locator(`li[data-task-id="${id}"]`);

  it(
    'signs in with MSAL.js, submits a task and sees it finish live; another user does not see it',
    { timeout: 60_000 },
    async () => {
      entra.user = { oid: 'a11ce000-0000-4000-8000-00000000000a', name: 'Alice Example' };
      const alice = await signedInPage('Alice Example');
      const { page } = alice;
      await screenshot(page, 'ui-entra-signed-in', false);
      await page.fill('#f-input-steps', '3');
      await page.fill('#f-input-stepMs', '50');
      await page.getByRole('button', { name: 'Submit task' }).click();
      const id = ((await page.locator('.form-notice a').getAttribute('href')) ?? '').replace('#/tasks/', '');
      await taskItem(page, id).locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
      const { rows } = await stack.pool.query<{ owner: string }>('SELECT owner FROM tasks WHERE id = $1', [
        id,
      ]);
      assert.equal(rows[0].owner, entra.user.oid, "the task is the signed-in user's oid");

      const authorize = alice.requests.find(
        (r) => r.url.startsWith(`${entra.url}/`) && r.url.includes('/authorize'),
      );
      assert.ok(authorize, 'the page went to the authority to sign in');
      assert.equal(new URL(authorize.url).searchParams.get('code_challenge_method'), 'S256');
      const calls = alice.requests.filter((r) => r.url.startsWith(`${api.url}/api/`));
      const streams = calls.filter((r) => r.url.includes('token='));
      assert.ok(
        streams.some((r) => new URL(r.url).pathname === '/api/events'),
        'the caller stream, by stream token',
      );
      for (const r of calls.filter((x) => !streams.includes(x))) {
        assert.match(
          r.authorization ?? '',
          /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/,
          `an access token on ${r.url}`,
        );
      }

      // Another user of the tenant, in a browser of their own: signed in, live, and without Alice's task.
      entra.user = { oid: 'b0b00000-0000-4000-8000-00000000000b', name: 'Bob Example' };
      const bob = await signedInPage('Bob Example');
      await bob.page.locator('.empty', { hasText: 'No tasks match.' }).waitFor();
      assert.equal(await taskItem(bob.page, id).count(), 0);
      await bob.page.goto(`/#/tasks/${id}`);
      await bob.page.getByText(`There is no task ${id}.`).waitFor();

      const [logout] = await Promise.all([
        bob.page.waitForRequest((r) => r.url().startsWith(`${entra.url}/`) && r.url().includes('/logout')),
        bob.page.getByRole('button', { name: 'Sign out' }).click(),
      ]);
      assert.equal(new URL(logout.url()).searchParams.get('post_logout_redirect_uri'), `${api.url}/`);
      assert.deepEqual([...alice.errors, ...bob.errors], [], 'no script errors and no CSP violations');
    },
  );
});
