import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../local-dev/services/managed-process';
import { readStackRecord } from '../../local-dev/stack-record';
import {
  assertNoCheckpointedStepReran,
  getTask,
  hasEnded,
  simulateExecutions,
  startSandbox,
  submitSimulate,
  waitForTask,
  type StartRun,
  type StartSandbox,
} from './services/start-script';

const STEPS = 8;
const INPUT = { steps: STEPS, stepMs: 250 };
// After the kill the new host takes a running task over once the dead one's lease has expired.
const LEASES = { LEASE_SECONDS: '2', HEARTBEAT_SECONDS: '1' };

/** SIGKILL of the start process and of every service it recorded, in one go: a power cut of the local stack. */
async function killEverything(run: StartRun, stateDir: string): Promise<void> {
  const services = readStackRecord(stateDir);
  run.child.kill('SIGKILL');
  for (const service of services) process.kill(service.pid, 'SIGKILL');
  await run.exited;
  for (const service of services) {
    await waitFor(() => !isAlive(service.pid), `${service.name} (pid ${service.pid}) to die`);
  }
}

async function waitFor(done: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 5_000; !done();) {
    if (Date.now() > end) throw new Error(`waited 5 s for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('npm start after the whole local stack was killed (SIGKILL of the host and every service)', () => {
  let sandbox: StartSandbox;
  before(async () => {
    sandbox = await startSandbox('stack-kill-all', 2);
  });
  after(() => sandbox.remove());

  it('loses no accepted task, killed right after a submit, mid-step and mid-sleep, and re-runs no checkpointed step', async () => {
    const first = sandbox.run(LEASES);
    let url = await first.ready();
    // Killed the moment the 202 arrives: the claim-check blob, the Postgres row and the queued message must all be
    // durable by then.
    const justAccepted = await submitSimulate(url, INPUT);
    await killEverything(first, sandbox.stateDir);

    const second = sandbox.run(LEASES);
    url = await second.ready();
    // Asleep (waiting on a scheduled message, no worker holding it) when everything dies.
    const asleep = await submitSimulate(url, { ...INPUT, sleepAtStep: 1, sleepMs: 4_000 });
    const midStep = await submitSimulate(url, INPUT);
    await waitForTask(url, asleep, (t) => t.status === 'waiting', 15_000);
    await waitForTask(url, midStep, (t) => (t.progress?.current ?? 0) >= 3, 15_000);
    // Progress is recorded after the step's checkpoint: these steps are checkpointed.
    const checkpointed = (await getTask(url, midStep)).progress?.current ?? 0;
    const lastMoment = await submitSimulate(url, INPUT);
    await killEverything(second, sandbox.stateDir);

    const third = sandbox.run(LEASES);
    url = await third.ready();
    for (const [id, label, done] of [
      [justAccepted, 'killed right after its submit', 0],
      [midStep, 'killed mid-step', checkpointed],
      [lastMoment, 'submitted just before the second kill', 0],
      [asleep, 'asleep at the second kill', 1],
    ] as const) {
      const task = await waitForTask(url, id, hasEnded, 30_000);
      assert.equal(task.status, 'succeeded', `${label}: ${JSON.stringify(task)}`);
      assertNoCheckpointedStepReran(await simulateExecutions(url, id), STEPS, done, label);
    }
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0, third.output());
  });
});
