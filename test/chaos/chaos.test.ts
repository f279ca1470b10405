import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { breaches, SHORT_RUN } from '../../chaos/run';
import { FAULTS, type ScenarioResult } from '../../chaos/scenario';
import { runProcess } from '../support/run-process';

const CHAOS_RUN = join(__dirname, '../../chaos/run.js');

const resultOf = (stdout: string) => stdout.split('\n').find((l) => l.startsWith('{"fault"'));

// The short variant of `npm run chaos`: every fault, a few dozen tasks each. Each scenario runs in a process of its
// own (the app's services are per process), two at a time: a scenario mostly waits, on its tasks and its fault.
describe('chaos (short variant)', { concurrency: 2 }, () => {
  // servicebus-pressure takes over a minute even at this size (throttled sends wait for the sweeper, throttled
  // completions for the message lock): `npm run chaos` runs it.
  for (const fault of FAULTS.filter((f) => f !== 'servicebus-pressure')) {
    it(`${fault}: no task lost, no checkpointed step re-run, every status right`, async (t) => {
      let run = await runProcess(process.execPath, [CHAOS_RUN, '--short', fault]);
      // The private stack takes free ports before its services bind them (a restart needs the same port again), so
      // another process may take one in between: then the scenario never ran, and it runs once more on new ports.
      if (!resultOf(run.stdout) && /EADDRINUSE/.test(run.stdout + run.stderr)) {
        t.diagnostic('a port was taken before the stack could bind it; ran again');
        run = await runProcess(process.execPath, [CHAOS_RUN, '--short', fault]);
      }
      const line = resultOf(run.stdout);
      assert.ok(
        line,
        `no result (exit ${run.code}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
      );
      const result = JSON.parse(line) as ScenarioResult;
      assert.equal(result.fault, fault);
      assert.equal(result.accepted + result.refused, SHORT_RUN.tasks);
      assert.deepEqual(breaches(result), [], line);
      assert.equal(run.code, 0, run.stderr.slice(-3000));
    });
  }
});
