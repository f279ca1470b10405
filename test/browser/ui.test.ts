import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { LocalHost } from '../../local-dev/host';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost, submitSimulate, waitForTask } from '../support/engine-harness';
import { launchBrowser, screenshot, watchForErrors } from './browser-harness';
import { html, links, startLocalSite, type LocalSite } from '../functions/tasks/scrape/local-site';

const TEST_TIMEOUT = { timeout: 30_000 };

/** The whole app on the local host against the real stack, driven by Chromium. */
describe('the web UI in a browser', () => {
  let stack: AppStack;
  let host: LocalHost;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  let site: LocalSite;

  before(async () => {
    // A site for the crawler on this machine: the app may call it, as OUTBOUND_ALLOW_PRIVATE_HOSTS says.
    site = await startLocalSite({
      '/': (res) => html(res, `<title>Home</title><h1>Home</h1>${links('/a', '/b')}`),
      '/a': (res) => html(res, '<title>A</title><p>one two three</p>'),
      '/b': (res) => res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Broken</h1>'),
    });
    [{ stack, host }, browser] = await Promise.all([
      startAppOnLocalHost({ OUTBOUND_ALLOW_PRIVATE_HOSTS: `127.0.0.1:${site.port}` }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await stack?.stop();
    site?.close();
  });

  /** A fresh browser context on `path`; `prepare` runs before the page loads (to intercept requests). */
  const openPage = async (
    path = '/',
    options: { viewport?: { width: number; height: number }; prepare?: (p: Page) => Promise<unknown> } = {},
  ) => {
    context = await browser.newContext({
      viewport: options.viewport ?? { width: 1200, height: 860 },
      baseURL: host.url,
      acceptDownloads: true,
    });
    page = await context.newPage();
    errors = watchForErrors(page);
    await options.prepare?.(page);
    await page.goto(path);
  };
  const live = () => page.locator('#connection-label', { hasText: 'Live' }).waitFor({ timeout: 15_000 });
  afterEach(async () => {
    await context?.close();
    assert.deepEqual(errors, [], 'no script errors and no CSP violations');
  });

  const row = (id: string) => page.locator(`li[data-task-id="${id}"]`);
  /** Submits a task through the API; answers its id. */
  const submitTask = async (type: string, input: object) => {
    const res = await fetch(`${host.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type, input }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  };
  /** Page-side code as expressions: this project compiles without the DOM library. */
  const inPage = <T>(expression: string) => page.evaluate<T>(expression);
  const barValue = (selector: string) =>
    inPage<number>(`document.querySelector(${JSON.stringify(selector)}).value`);
  /**
   * Waits until the bar under `selector` shows more than `percent`. A function, not a string: the page's CSP
   * forbids evaluating strings, and Playwright would evaluate this one inside the page.
   */
  const barAbove = (selector: string, percent: number) =>
    page.waitForFunction(
      ([s, p]) => {
        const { document } = globalThis as unknown as {
          document: { querySelector(s: string): { value: number } | null };
        };
        return (document.querySelector(s)?.value ?? 0) > p;
      },
      [selector, percent] as const,
    );

  it(
    'submits a simulate task from the generated form and watches its bar move to done',
    TEST_TIMEOUT,
    async () => {
      await openPage();
      await live();
      // The form comes from GET /api/task-types, with the type's example filled in.
      assert.equal(await page.locator('#task-type').inputValue(), 'simulate');
      assert.equal(await page.locator('#f-input-steps').inputValue(), '10');
      assert.equal(await page.locator('#f-input-stepMs').inputValue(), '1000');
      await page.fill('#f-input-steps', '8');
      await page.fill('#f-input-stepMs', '300');
      await page.getByRole('button', { name: 'Submit task' }).click();
      const link = page.locator('.form-notice a');
      const id = ((await link.getAttribute('href')) ?? '').replace('#/tasks/', '');
      assert.match(id, /^[0-9a-f-]{36}$/);

      const bar = `li[data-task-id="${id}"] progress`;
      await barAbove(bar, 30);
      const midway = await barValue(bar);
      assert.ok(midway < 100, `the bar is on its way (${midway})`);
      assert.match((await row(id).locator('.times').textContent()) ?? '', /Elapsed .+ETA /);
      await screenshot(page, 'home-running');
      await row(id).locator('.badge', { hasText: 'succeeded' }).waitFor();
      assert.equal(await barValue(bar), 100);
      assert.match((await row(id).locator('.progress-text').textContent()) ?? '', /100% · step 8 of 8/);
    },
  );

  it("shows the API's validation errors next to the fields they name", TEST_TIMEOUT, async () => {
    await openPage();
    await page.fill('#f-input-steps', '0');
    await page.getByRole('button', { name: 'Submit task' }).click();
    const stepsError = page.locator('#f-input-steps-error');
    await stepsError.waitFor();
    assert.equal(await stepsError.textContent(), 'must be at least 1');
    assert.equal(await page.locator('#f-input-steps').getAttribute('aria-invalid'), 'true');
    // The first field at fault takes the focus, and its error is part of its description.
    assert.equal(await inPage('document.activeElement?.id'), 'f-input-steps');
    assert.match(
      (await page.locator('#f-input-steps').getAttribute('aria-describedby')) ?? '',
      /f-input-steps-error/,
    );
    await screenshot(page, 'validation-error');

    // A rule across fields, on a field behind "More options": the section opens to show it.
    await page.fill('#f-input-steps', '3');
    await page.getByText('More options').click();
    await page.fill('#f-input-failAtStep', '5');
    await page.getByText('More options').click();
    await page.getByRole('button', { name: 'Submit task' }).click();
    await page.locator('#f-input-failAtStep-error', { hasText: 'failAtStep must be below steps' }).waitFor();
    assert.equal(await page.locator('#f-input-steps-error').textContent(), '');
    assert.ok(await page.locator('#f-input-failAtStep').isVisible());

    // The envelope's own field: a loopback callback is refused (and so is any, while webhooks are off).
    await page.fill('#f-input-failAtStep', '');
    await page.fill('#f-callbackUrl', 'http://127.0.0.1:9/hook');
    await page.getByRole('button', { name: 'Submit task' }).click();
    await page.locator('#f-callbackUrl-error').waitFor();
    assert.equal(await page.locator('#f-callbackUrl').getAttribute('aria-invalid'), 'true');

    // The dataset form names no file it does not have: its file field starts empty, and an empty one is refused.
    await page.selectOption('#task-type', 'dataset');
    assert.equal(await page.locator('#f-input-blob').inputValue(), '');
    assert.match(
      (await page.locator('#f-input-blob').getAttribute('placeholder')) ?? '',
      /^e\.g\. uploads\/sales\.csv/,
    );
    await page.getByRole('button', { name: 'Submit task' }).click();
    await page.locator('#f-input-blob-error', { hasText: 'is required' }).waitFor();
  });

  it('cancels a running task after confirmation', TEST_TIMEOUT, async () => {
    const id = await submitSimulate({ steps: 200, stepMs: 200 });
    await openPage(`/#/tasks/${id}`);
    await live();
    await page.locator('.task-head .badge', { hasText: 'running' }).waitFor();
    await barAbove('.task-progress progress', 0);
    await screenshot(page, 'task-running');

    const cancel = page.getByRole('button', { name: 'Cancel task…' });
    await cancel.click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this task?' });
    await dialog.waitFor();
    await screenshot(page, 'cancel-confirmation');
    // Keeping it is the default: Enter on the focused button does nothing harmful.
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    const task = (await (await fetch(`${host.url}/api/tasks/${id}`)).json()) as { cancelRequested: boolean };
    assert.equal(task.cancelRequested, false);

    await cancel.click();
    await dialog.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('.task-head .badge', { hasText: 'cancelled' }).waitFor();
    assert.ok(await cancel.isHidden());
    const progress = await barValue('.task-progress progress');
    assert.ok(progress < 100, `stopped part way (${progress})`);
  });

  it(
    'opens a finished task with its timeline and result, and downloads the result',
    TEST_TIMEOUT,
    async () => {
      const id = await submitSimulate({ steps: 3, stepMs: 20 });
      await waitForTask(stack, id, (t) => t.status === 'succeeded');
      await openPage('/');
      await row(id).locator('.badge', { hasText: 'succeeded' }).waitFor();
      await row(id).locator('a.task-link').click();
      await page.waitForURL(`**/#/tasks/${id}`);

      const json = page.locator('.result-json');
      await json.waitFor();
      assert.deepEqual(JSON.parse((await json.textContent()) ?? ''), {
        steps: 3,
        executions: { 'step-0': 1, 'step-1': 1, 'step-2': 1 },
        totalExecutions: 3,
      });
      assert.deepEqual(await page.locator('.timeline .badge').allTextContents(), [
        'queued',
        'running',
        'succeeded',
      ]);
      assert.match((await page.locator('.details').textContent()) ?? '', /Attempts1/);
      await screenshot(page, 'task-result');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download JSON' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), `result-${id}.json`);
      assert.equal(JSON.parse(await readFile((await download.path()) ?? '', 'utf8')).totalExecutions, 3);
    },
  );

  it(
    'resumes live after a reload mid-task, missing nothing and repeating nothing',
    TEST_TIMEOUT,
    async () => {
      const id = await submitSimulate({ steps: 16, stepMs: 250 });
      await openPage(`/#/tasks/${id}`);
      await barAbove('.task-progress progress', 20);
      const before = await barValue('.task-progress progress');
      await page.reload();
      await live();
      await page.locator('.task-head .badge', { hasText: 'running' }).waitFor();
      await barAbove('.task-progress progress', before);
      await page.locator('.task-head .badge', { hasText: 'succeeded' }).waitFor();
      assert.deepEqual(await page.locator('.timeline .badge').allTextContents(), [
        'queued',
        'running',
        'succeeded',
      ]);
      assert.equal(await barValue('.task-progress progress'), 100);
    },
  );

  it(
    "shows a failed task's reason and duration, its steps and input; retries it from the failed step and runs it again",
    TEST_TIMEOUT,
    async () => {
      const id = await submitSimulate({ steps: 3, stepMs: 30, failAtStep: 2, failMode: 'permanent' });
      await waitForTask(stack, id, (t) => t.status === 'failed');
      await openPage('/');
      await row(id).locator('.badge', { hasText: 'failed' }).waitFor();
      assert.equal(
        await row(id).locator('.task-failure').textContent(),
        'permanent_failure: simulated permanent failure at step 2 (in step step-2)',
      );
      assert.match((await row(id).locator('.task-meta').textContent()) ?? '', /took \d/);
      await row(id).locator('a.task-link').click();
      await page.waitForURL(`**/#/tasks/${id}`);

      const stepRows = page.locator('.steps tbody tr');
      await stepRows.nth(2).waitFor();
      const cells = async () =>
        (await stepRows.evaluateAll((rows) =>
          rows.map((r) =>
            (r as unknown as { innerText: string }).innerText.split('\t').slice(0, 3).join(' '),
          ),
        )) as string[];
      assert.deepEqual(await cells(), ['step-0 succeeded 1', 'step-1 succeeded 1', 'step-2 failed 1']);
      assert.equal(await page.locator('svg.step-timeline rect.step-bar').count(), 3);
      assert.equal(await page.locator('svg.step-timeline rect.step-failed').count(), 1);
      assert.match((await page.locator('.error-card').textContent()) ?? '', /\(in step step-2\)/);
      await page.locator('#input-heading + details summary').click();
      assert.equal(JSON.parse((await page.locator('.input-json').textContent()) ?? '{}').failAtStep, 2);
      await screenshot(page, 'task-failed-steps');

      // Retry: the completed steps are replayed, the failed one runs again (and fails again: it is permanent).
      await page.getByRole('button', { name: 'Retry from the failed step' }).click();
      await page.locator('.form-notice', { hasText: 'Retrying' }).waitFor();
      await page.waitForFunction((selector) => {
        const { document } = globalThis as unknown as {
          document: { querySelector(s: string): { textContent: string } | null };
        };
        return document.querySelector(selector)?.textContent?.includes('failed2') ?? false;
      }, '.steps tbody tr:nth-child(3)');
      assert.deepEqual(await cells(), ['step-0 succeeded 1', 'step-1 succeeded 1', 'step-2 failed 2']);

      await page.getByRole('button', { name: 'Run again' }).click();
      await page.waitForURL((url) => /#\/tasks\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.endsWith(id));
      await page.locator('.details', { hasText: 'Rerun of' }).waitFor();
      await page.locator('.task-head .badge', { hasText: 'failed' }).waitFor();
      await page.locator('#input-heading + details summary').click();
      assert.equal(JSON.parse((await page.locator('.input-json').textContent()) ?? '{}').failAtStep, 2);
    },
  );

  it(
    'shows a dataset result as a table of its columns and bar charts of top values and group sums',
    TEST_TIMEOUT,
    async () => {
      const csv =
        'region,product,amount\n' +
        ['north,apple,3', 'south,pear,5', 'north,pear,2', 'east,apple,7'].join('\n').repeat(1) +
        '\n';
      const name = `ui-${Date.now()}/sales.csv`;
      const blobs = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE);
      const container = blobs.getContainerClient('uploads');
      await container.createIfNotExists();
      await container.getBlockBlobClient(name).uploadData(Buffer.from(csv));
      const id = await submitTask('dataset', {
        blob: `uploads/${name}`,
        groupBy: { keys: ['region'], sum: ['amount'] },
      });
      await waitForTask(stack, id, (t) => t.status === 'succeeded');
      await openPage(`/#/tasks/${id}`);
      await page.locator('.dataset-result').waitFor();
      assert.match(
        (await page.locator('.dataset-result .summary').textContent()) ?? '',
        /^4 rows, \d+ bytes, 3 columns/,
      );
      const columns = await page.locator('.dataset-result tbody tr td:first-child').allTextContents();
      assert.deepEqual(columns, ['region', 'product', 'amount']);
      const captions = await page.locator('.dataset-result figcaption').allTextContents();
      assert.ok(captions.includes('Most frequent values of region'), captions.join(' | '));
      assert.ok(captions.includes('Sum of amount by region'), captions.join(' | '));
      const sums = page.locator('figure', { hasText: 'Sum of amount by region' });
      assert.deepEqual(await sums.locator('.chart-label').allTextContents(), ['east', 'north', 'south']);
      assert.deepEqual(await sums.locator('.chart-value').allTextContents(), ['7', '5', '5']);
      await screenshot(page, 'dataset-result');
    },
  );

  it(
    'shows a crawl result as a table of its pages: status, title, words, links and timing',
    TEST_TIMEOUT,
    async () => {
      const id = await submitTask('scrape', { url: `${site.origin}/`, maxPages: 3, politenessMs: 0 });
      await waitForTask(stack, id, (t) => t.status === 'succeeded');
      await openPage(`/#/tasks/${id}`);
      const table = page.getByRole('region', { name: 'Crawled pages' });
      await table.waitFor();
      assert.equal(await table.locator('caption').textContent(), 'Pages (3)');
      const headers = await table.locator('th').allTextContents();
      for (const column of ['url', 'status', 'title', 'words', 'links', 'elapsedMs'])
        assert.ok(headers.includes(column), `${column} in ${headers.join(', ')}`);
      const cell = (row: number, column: string) =>
        table.locator('tbody tr').nth(row).locator('td').nth(headers.indexOf(column)).textContent();
      assert.equal(await cell(0, 'url'), `${site.origin}/`);
      assert.equal(await cell(0, 'links'), '2');
      assert.deepEqual(await Promise.all([0, 1, 2].map((row) => cell(row, 'status'))), ['200', '200', '500']);
      await screenshot(page, 'scrape-result');
    },
  );

  it(
    'the operations view: counts by status, the queue, dead letters with their reason, retried and deleted',
    TEST_TIMEOUT,
    async () => {
      const id = await submitSimulate({ steps: 1, stepMs: 0, failAtStep: 0, failMode: 'permanent' });
      await waitForTask(stack, id, (t) => t.status === 'failed');
      await openPage('/#/admin');
      const letter = page.locator('.data-table tr', { has: page.locator(`a[href="#/tasks/${id}"]`) }).filter({
        hasText: 'permanent_failure',
      });
      await letter.waitFor({ timeout: 15_000 });
      assert.match(
        (await letter.textContent()) ?? '',
        /slice.*permanent_failure.*simulated permanent failure at step 0.*failed/,
      );
      const failedCount = Number(await page.locator('.stat[data-status="failed"] .stat-value').textContent());
      assert.ok(failedCount >= 1);
      assert.match((await page.locator('#queue-heading + .details').textContent()) ?? '', /Dead-lettered\d+/);
      assert.ok(
        (await page.locator('figure', { hasText: 'Tasks created per hour' }).locator('rect').count()) === 12,
      );
      await screenshot(page, 'operations');

      await letter.getByRole('button', { name: 'Retry task' }).click();
      await page.locator('.form-notice', { hasText: `Task ${id.slice(0, 8)} queued again.` }).waitFor();
      await waitForTask(stack, id, (t) => t.status === 'failed' && t.attempts === 1);
      const again = page.locator('.data-table tr', { has: page.locator(`a[href="#/tasks/${id}"]`) });
      await again.first().getByRole('button', { name: 'Delete' }).click();
      await page.locator('.form-notice', { hasText: /Dead letter \d+ deleted\./ }).waitFor();
    },
  );

  it(
    'shows what a waiting task waits for; an invalid payload is refused next to the form, Approve sends the signal',
    TEST_TIMEOUT,
    async () => {
      const id = await submitTask('approval', {
        title: 'Q3',
        figures: [{ label: 'North', value: 2 }],
        timeoutSeconds: 600,
      });
      await waitForTask(stack, id, (t) => t.status === 'waiting');
      await openPage(`/#/tasks/${id}`);
      const waiting = page.locator('section[aria-labelledby="waiting-heading"]');
      await waiting
        .getByText(/Waiting for the signal “decision”, until .+\. No worker is held meanwhile\./)
        .waitFor();
      await page.locator('.task-head .badge', { hasText: 'waiting' }).waitFor();
      await screenshot(page, 'task-waiting-approval');
      await page.getByRole('textbox', { name: 'comment (optional)' }).fill('x'.repeat(1001));
      await page.getByRole('button', { name: 'Approve' }).click();
      await waiting.locator('.form-error', { hasText: 'payload.comment:' }).waitFor();
      assert.equal((await waitForTask(stack, id, () => true)).status, 'waiting', 'the task keeps waiting');
      await page.getByRole('textbox', { name: 'comment (optional)' }).fill('looks right');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.locator('.task-head .badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
      assert.equal(await waiting.isHidden(), true);
      await page.locator('.result-json', { hasText: '"published": true' }).waitFor({ state: 'attached' });
    },
  );

  it('updates the list from the event stream without reloading', TEST_TIMEOUT, async () => {
    await openPage('/');
    await live();
    await inPage('window.marker = 42');
    const id = await submitSimulate({ steps: 4, stepMs: 150 });
    await row(id).waitFor();
    await row(id).locator('.badge', { hasText: 'succeeded' }).waitFor();
    assert.equal(await inPage('window.marker'), 42, 'the page was not reloaded');

    // Filters apply to what arrives live too.
    await page.selectOption('#filter-status', 'running');
    await row(id).waitFor({ state: 'detached' });
    const running = await submitSimulate({ steps: 30, stepMs: 100 });
    await row(running).waitFor();
    await page.selectOption('#filter-status', '');
    await row(id).waitFor();
  });

  it(
    'falls back to polling when the event stream is refused, and recovers by itself',
    TEST_TIMEOUT,
    async () => {
      let refuse = true;
      await openPage('/', {
        prepare: (p) =>
          p.route('**/api/events', (route) =>
            refuse
              ? route.fulfill({
                  status: 503,
                  contentType: 'application/problem+json',
                  body: '{"status":503}',
                })
              : route.continue(),
          ),
      });
      await page.locator('#connection-label', { hasText: 'Polling' }).waitFor();
      const id = await submitSimulate({ steps: 3, stepMs: 50 });
      await row(id).locator('.badge', { hasText: 'succeeded' }).waitFor();
      refuse = false;
      await live();
    },
  );

  it('uploads a file straight to Blob storage, with a progress bar', TEST_TIMEOUT, async () => {
    // A type with a `blob` field, as the dataset task has: the form gives it a file picker.
    await openPage('/', {
      prepare: (p) =>
        p.route('**/api/task-types', async (route) => {
          const types = (await (await route.fetch()).json()) as unknown[];
          const upload = {
            type: 'csv-upload',
            title: 'A CSV file',
            description: 'Only here to test uploads.',
            inputSchema: {
              type: 'object',
              properties: { blob: { type: 'string', description: 'The file: "uploads/<name>".' } },
              required: ['blob'],
            },
            example: {},
          };
          await route.fulfill({ json: [...types, upload] });
        }),
    });
    await page.selectOption('#task-type', 'csv-upload');
    const content = 'city,sales\n' + 'Lisbon,12\n'.repeat(20_000);
    await page.setInputFiles('#f-input-blob-file', {
      name: 'sales.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(content),
    });
    await page.locator('.upload-status', { hasText: 'Uploaded sales.csv' }).waitFor();
    assert.equal(await barValue('.upload progress'), 100);
    const ref = await page.locator('#f-input-blob').inputValue();
    assert.match(ref, /^uploads\/[0-9a-f-]{36}\/sales\.csv$/);
    const blobs = BlobServiceClient.fromConnectionString(stack.settings.TASKS_STORAGE);
    const blob = blobs.getContainerClient('uploads').getBlobClient(ref.slice('uploads/'.length));
    assert.equal((await blob.downloadToBuffer()).toString(), content);
    await screenshot(page, 'upload');
  });

  it('works from the keyboard and at phone width, with every control labelled', TEST_TIMEOUT, async () => {
    await openPage('/', { viewport: { width: 390, height: 844 } });
    await live();
    await page.fill('#f-input-stepMs', '50');
    await inPage('document.activeElement.blur()');
    // Tab to the submit button and press Enter: a task is submitted.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if ((await inPage('document.activeElement?.textContent')) === 'Submit task') break;
    }
    await page.keyboard.press('Enter');
    await page.locator('.form-notice a').waitFor();
    const unlabelled = await inPage<string[]>(
      `[...document.querySelectorAll('input, select, textarea, progress')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML)`,
    );
    assert.deepEqual(unlabelled, []);
    const overflow = await inPage<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px too wide)`);
    await page.locator('#tasks-heading').scrollIntoViewIfNeeded();
    await screenshot(page, 'phone', false);

    // The task view with its steps, and the operations view with its tables and chart, fit the phone too.
    const failed = await submitSimulate({ steps: 2, stepMs: 0, failAtStep: 1, failMode: 'permanent' });
    await waitForTask(stack, failed, (t) => t.status === 'failed');
    for (const [hash, ready] of [
      [`#/tasks/${failed}`, 'svg.step-timeline'],
      ['#/admin', 'figure.chart'],
    ]) {
      await page.goto(`/${hash}`);
      await page.locator(ready).waitFor();
      const wide = await inPage<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(wide <= 0, `${hash}: no sideways scrolling at 390 px (${wide} px too wide)`);
    }
    await screenshot(page, 'phone-operations', false);
  });
});
