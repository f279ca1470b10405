import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breaches, SHORT_RUN } from '../../chaos/run';
import { FAULTS, runScenario, type Fault } from '../../chaos/scenario';

/**
 * Left to `npm run chaos` (and `npm run chaos -- --short`, which runs every fault at this size), to keep `npm test`
 * within its time: servicebus-pressure takes over a minute even at this size (throttled sends wait for the sweeper);
 * the Service Bus and Redis blackholes have tests of their own here (test/functions/app/http/submit-task.test.ts and
 * test/local-dev/host/servicebus.test.ts, test/functions/events/task-event-stream.test.ts); redis-restart is the
 * Redis blackhole's outage ended by a restart; postgres-latency slows, it does not break; short-leases-duplicates'
 * duplicate deliveries and lease takeovers are each tested in test/functions/engine/engine.test.ts. The Postgres and
 * Storage blackholes are the outages of postgres-restart and azurite-restart with hung connections instead of refused
 * ones, which test/functions/app/http/submit-deadlines.test.ts holds the submit path to; they run in `npm run chaos`.
 */
const NOT_IN_NPM_TEST: readonly Fault[] = [
  'servicebus-pressure',
  'servicebus-blackhole',
  'redis-blackhole',
  'redis-restart',
  'postgres-latency',
  'short-leases-duplicates',
  'postgres-blackhole',
  'storage-blackhole',
];

// The short variant of `npm run chaos`: a few dozen tasks a fault, one scenario after the other.
describe('chaos (short variant)', () => {
  for (const fault of FAULTS.filter((f) => !NOT_IN_NPM_TEST.includes(f))) {
    it(`${fault}: no task lost, no checkpointed step re-run, every status right`, async () => {
      const result = await runScenario({ fault, ...SHORT_RUN });
      assert.equal(result.accepted + result.refused, SHORT_RUN.tasks);
      assert.deepEqual(breaches(result), [], JSON.stringify(result));
    });
  }
});
