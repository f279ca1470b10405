import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RateLimits } from '../../../functions/auth/rate-limits';
import type { RateLimitSettings } from '../../../functions/platform/settings';
import { TEST_REDIS_URL } from '../../support/test-servers';

const LIMITS: RateLimitSettings = { submits: 2, reads: 0, windowSeconds: 60, activeTasks: 0 };
const NAMESPACE = 'longhaul';
const never = async () => false;

/** Admits two submits with the quota left, refuses the third unless exempt; another caller has its own budget. */
async function assertBudget(limits: RateLimits, caller: (name: string) => string): Promise<void> {
  const alice = caller('alice');
  const first = await limits.admit('submit', alice, never);
  assert.ok(first.admitted && first.quota);
  assert.deepEqual([first.quota.limit, first.quota.remaining], [2, 1]);
  assert.ok(first.quota.resetSeconds >= 59 && first.quota.resetSeconds <= 60, 'seconds to the window end');
  assert.equal((await limits.admit('submit', alice, never)).admitted, true);
  const refused = await limits.admit('submit', alice, never);
  assert.ok(!refused.admitted && refused.refusal === 'over-limit');
  assert.deepEqual([refused.quota.remaining, refused.windowSeconds], [0, 60]);
  const exempt = await limits.admit('submit', alice, async () => true);
  assert.equal(exempt.admitted, true);
  assert.equal(exempt.quota?.remaining, 0);
  assert.equal(
    (await limits.admit('submit', caller('bob'), never)).admitted,
    true,
    "another caller's budget",
  );
}

/** The policy over a real Redis; the HTTP answers it leads to are tested in test/functions/app/http/rate-limits. */
describe('RateLimits: per-caller budgets counted in Redis', () => {
  const redis = new Redis(TEST_REDIS_URL);
  after(() => redis.quit());
  // Callers are unique per run: every test run on this machine shares the one Redis, where the counters live.
  const caller = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

  it('admits within the budget with the quota left, then refuses over it unless the request is exempt', async () => {
    await assertBudget(
      new RateLimits(
        async () => redis,
        NAMESPACE,
        LIMITS,
        () => undefined,
      ),
      caller,
    );
  });

  it('counts the same budgets in the process without Redis (LOCAL_WITHOUT_REDIS)', async () => {
    await assertBudget(new RateLimits(undefined, NAMESPACE, LIMITS, () => undefined), caller);
  });

  it('deployments sharing the Redis under another REDIS_NAMESPACE count apart', async () => {
    const erin = caller('erin');
    const limits = (namespace: string) =>
      new RateLimits(
        async () => redis,
        namespace,
        { ...LIMITS, submits: 1 },
        () => undefined,
      );
    const [a, b] = [limits(`a-${erin}`), limits(`b-${erin}`)];
    assert.equal((await a.admit('submit', erin, never)).admitted, true);
    assert.equal((await a.admit('submit', erin, never)).admitted, false, "a's budget is spent");
    assert.equal((await b.admit('submit', erin, never)).admitted, true, "b's is not");
    assert.equal(await redis.exists(`a-${erin}:rl:submit:${erin}`), 1, 'the key starts with the namespace');
  });

  it('a budget of 0 is unlimited: admitted without counting', async () => {
    const limits = new RateLimits(
      async () => redis,
      NAMESPACE,
      LIMITS,
      () => undefined,
    );
    assert.deepEqual(await limits.admit('read', caller('carol'), never), { admitted: true });
  });

  it('while Redis cannot count: reads proceed, submits are refused (unless exempt), and it warns once', async () => {
    const down = { status: 'reconnecting' } as unknown as Redis;
    const warnings: string[] = [];
    const limits = new RateLimits(
      async () => down,
      NAMESPACE,
      { ...LIMITS, reads: 5 },
      (_, message) => warnings.push(message),
    );
    const dave = caller('dave');
    assert.deepEqual(await limits.admit('read', dave, never), { admitted: true });
    assert.deepEqual(await limits.admit('submit', dave, never), { admitted: false, refusal: 'unavailable' });
    assert.deepEqual(await limits.admit('submit', dave, async () => true), { admitted: true });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Redis cannot count \(.*reconnecting\)/);
  });
});
