import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breaches } from '../../chaos/run';
import { FAULTS, runScenario } from '../../chaos/scenario';

// The short variant of `npm run chaos`: every fault, a few dozen tasks each.
describe('chaos (short variant)', () => {
  for (const fault of FAULTS) {
    it(`${fault}: no task lost, no checkpointed step re-run, every status right`, async () => {
      const result = await runScenario({
        fault,
        tasks: 30,
        workers: 2,
        submitMs: 3_000,
        faultMs: 2_500,
        drainMs: 75_000,
        lockSeconds: 10,
        unsentSeconds: 5,
      });
      assert.equal(result.accepted + result.refused, 30);
      assert.deepEqual(breaches(result), [], JSON.stringify(result));
    });
  }
});
