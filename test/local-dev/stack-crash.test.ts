import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../local-dev/services/managed-process';
import { isPortAnswering } from '../../local-dev/services/ports';
import { readStackRecord } from '../../local-dev/stack-record';
import {
  assertNoCheckpointedStepReran,
  getTask,
  hasEnded,
  simulateExecutions,
  startSandbox,
  submitSimulate,
  waitForTask,
  type StartSandbox,
} from './services/start-script';

const STEPS = 8;
const INPUT = { steps: STEPS, stepMs: 250 };

describe('npm start after its process was killed (SIGKILL, as a host crash)', () => {
  let sandbox: StartSandbox;
  before(async () => {
    sandbox = await startSandbox('stack-crash', 2);
  });
  after(() => sandbox.remove());

  it('reattaches to the services left running, and every accepted task completes with no checkpointed step run twice', async () => {
    // A 2 s lease: after the crash the new host takes the task over once the dead one's lease has expired.
    const leases = { LEASE_SECONDS: '2', HEARTBEAT_SECONDS: '1' };
    const first = sandbox.run(leases);
    const url = await first.ready();
    const services = readStackRecord(sandbox.stateDir);
    assert.deepEqual(services.map((s) => s.name).sort(), ['azurite', 'servicebus']);

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submitSimulate(url, INPUT));
    await waitForTask(url, ids[0], (t) => (t.progress?.current ?? 0) >= 2, 10_000);
    // Progress is persisted after the step's checkpoint: these steps are checkpointed.
    const checkpointed = await Promise.all(
      ids.map(async (id) => (await getTask(url, id)).progress?.current ?? 0),
    );
    first.child.kill('SIGKILL');
    await first.exited;
    for (const service of services) {
      assert.ok(isAlive(service.pid), `${service.name} died with the start process`);
      for (const port of service.ports) assert.ok(await isPortAnswering(port), `${service.name} :${port}`);
    }

    const second = sandbox.run(leases);
    const secondUrl = await second.ready();
    for (const service of services) {
      assert.match(second.output(), new RegExp(`reattached to ${service.name} \\(pid ${service.pid}\\)`));
    }
    assert.deepEqual(
      readStackRecord(sandbox.stateDir).map((s) => [s.name, s.pid]),
      services.map((s) => [s.name, s.pid]),
    );
    for (const [n, id] of ids.entries()) {
      const task = await waitForTask(secondUrl, id, hasEnded, 15_000);
      assert.equal(task.status, 'succeeded', id);
      const executions = await simulateExecutions(secondUrl, id);
      assertNoCheckpointedStepReran(executions, STEPS, checkpointed[n], `task ${n}`);
    }
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    for (const service of services) assert.equal(isAlive(service.pid), false, `${service.name} still runs`);
    assert.equal(existsSync(join(sandbox.stateDir, 'stack.json')), false);
    assert.equal(existsSync(join(sandbox.stateDir, 'instance.lock')), false);
  });
});
