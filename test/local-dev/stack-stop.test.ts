import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../local-dev/services/managed-process';
import { readStackRecord } from '../../local-dev/stack-record';
import {
  getTask,
  simulateExecutions,
  startSandbox,
  submitSimulate,
  waitForTask,
  type StartSandbox,
} from './services/start-script';

const STEPS = 8;

describe('npm start: one instance, stopped with Ctrl+C', () => {
  let sandbox: StartSandbox;
  before(async () => {
    // The default 1-minute lock and lease: a handover must not wait for either.
    sandbox = await startSandbox('stack-stop', 60);
  });
  after(() => sandbox.remove());

  it('refuses a second start, stops cleanly on SIGINT, and the task running then continues within 5 s of a restart', async () => {
    const first = sandbox.run();
    const url = await first.ready();

    const files = () =>
      ['stack.json', 'instance.lock'].map((f) => readFileSync(join(sandbox.stateDir, f), 'utf8'));
    const filesBefore = files();
    const second = sandbox.run();
    assert.notEqual(await second.exited, 0);
    const pid = first.child.pid as number;
    assert.equal(
      second.output().trim(),
      `Longhaul is already running (pid ${pid}, ${url}); stop it with Ctrl+C in its terminal or kill -TERM ${pid}`,
    );
    assert.deepEqual(files(), filesBefore, 'the refused start touched the record or the lock');
    assert.equal((await fetch(`${url}/api/health`)).status, 200, 'the first start stopped serving');

    const id = await submitSimulate(url, { steps: STEPS, stepMs: 250 });
    await waitForTask(url, id, (t) => (t.progress?.current ?? 0) >= 2, 10_000);
    const services = readStackRecord(sandbox.stateDir);
    first.interrupt();
    assert.equal(await first.exited, 0, first.output());
    assert.doesNotMatch(first.output(), /exited unexpectedly/);
    for (const service of services) assert.equal(isAlive(service.pid), false, `${service.name} still runs`);
    assert.equal(existsSync(join(sandbox.stateDir, 'stack.json')), false);
    assert.equal(existsSync(join(sandbox.stateDir, 'instance.lock')), false);

    const third = sandbox.run();
    const thirdUrl = await third.ready();
    const handedOver = (await getTask(thirdUrl, id)).progress?.current ?? 0;
    assert.ok(handedOver < STEPS, 'the task ended before the stop: nothing was handed over');
    const readyAt = Date.now();
    await waitForTask(thirdUrl, id, (t) => (t.progress?.current ?? 0) > handedOver, 5_000);
    assert.ok(Date.now() - readyAt < 5_000);
    await waitForTask(thirdUrl, id, (t) => t.status === 'succeeded', 10_000);
    // A graceful stop lets the step in flight finish and be checkpointed: every step ran once.
    assert.deepEqual(Object.values(await simulateExecutions(thirdUrl, id)), Array(STEPS).fill(1));

    third.interrupt();
    assert.equal(await third.exited, 0, third.output());
  });
});
