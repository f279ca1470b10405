import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AZURE_POSTGRES_MAJOR } from '../../local-dev/services/postgres-binaries';
import { launchBrowser } from '../browser/browser-harness';
import { nodeOnlyMachine, submitSimulate, waitForTask } from './services/start-script';

/** A task's persisted events (JSON history, one page). */
async function history(url: string, id: string): Promise<string> {
  const res = await fetch(`${url}/api/tasks/${id}/events`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Reads the caller's stream until `pattern` shows up in it; throws after `timeoutMs`. */
async function readStreamUntil(url: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const res = await fetch(`${url}/api/events`, {
    headers: { accept: 'text/event-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (pattern.test(text)) break;
  }
  return text;
}

/** `npm start` where the machine has Node and nothing else (see nodeOnlyMachine). */
describe('npm start on a machine with only Node', () => {
  const machine = nodeOnlyMachine('node-only');
  after(() => machine.remove());

  it('runs on the embedded Postgres without Redis, shows "Polling", and keeps a task\'s history across a restart and a SIGKILL of everything', async (t) => {
    let began = Date.now();
    const first = machine.start();
    const url = await first.ready(60_000);
    t.diagnostic(`first start (a new cluster): ${Date.now() - began} ms`);
    const output = first.output();
    assert.match(
      output,
      new RegExp(
        `creating a cluster with PostgreSQL ${AZURE_POSTGRES_MAJOR}\\.\\d+ \\(embedded, from npm\\)`,
      ),
    );
    const redisLines = output.split('\n').filter((line) => line.includes('Redis not found'));
    assert.equal(redisLines.length, 1, output);
    assert.match(redisLines[0], /install it with `sudo apt-get install redis-server`, or set REDIS_URL/);
    assert.match(redisLines[0], /read Postgres every 1\.5 s/);

    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Longhaul<\/title>/);
    const ready = (await (await fetch(`${url}/api/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(ready.checks).sort(), ['blobStorage', 'postgres', 'serviceBus']);

    const id = await submitSimulate(url, { steps: 4, stepMs: 200 });
    assert.equal(
      (await waitForTask(url, id, (task) => task.status === 'succeeded', 30_000)).status,
      'succeeded',
    );
    const events = await history(url, id);
    assert.match(events, /"status":"succeeded"/);
    const steps = await (await fetch(`${url}/api/tasks/${id}/steps`)).text();
    // Streams say they poll, and the page says so in its header.
    assert.match(await readStreamUntil(url, /"delivery":"polling"/, 10_000), /"delivery":"polling"/);
    const browser = await launchBrowser();
    try {
      const tab = await browser.newPage();
      await tab.goto(`${url}/`);
      await tab.locator('#connection-label', { hasText: 'Polling' }).waitFor({ timeout: 10_000 });
    } finally {
      await browser.close();
    }

    first.interrupt();
    assert.equal(await first.exited, 0, first.output());
    began = Date.now();
    const second = machine.start();
    const again = await second.ready(60_000);
    t.diagnostic(`restart on the same .local/: ${Date.now() - began} ms`);
    assert.match(second.output(), /starting PostgreSQL \d+\.\d+ \(embedded, from npm\)/);
    assert.equal(await history(again, id), events);
    assert.equal(await (await fetch(`${again}/api/tasks/${id}/steps`)).text(), steps);
    const result = await fetch(`${again}/api/tasks/${id}/result`);
    assert.equal(result.status, 200);
    const resultBody: unknown = await result.json();

    // SIGKILL of the start script and every service, the embedded Postgres among them: crash recovery, nothing lost.
    await machine.kill();
    const third = machine.start();
    const recovered = await third.ready(60_000);
    assert.equal(await history(recovered, id), events);
    assert.equal(await (await fetch(`${recovered}/api/tasks/${id}/steps`)).text(), steps);
    assert.deepEqual(await (await fetch(`${recovered}/api/tasks/${id}/result`)).json(), resultBody);
    third.interrupt();
    assert.equal(await third.exited, 0, third.output());
  });
});
