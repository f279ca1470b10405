import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventChannels, type EventJson } from '../../../functions/events/event-json';
import { RedisEventPublisher } from '../../../functions/events/redis-event-publisher';
import { SubscriptionHub } from '../../../functions/events/subscription-hub';
import type { TaskEventRow } from '../../../functions/model/events';
import { TEST_REDIS_URL } from '../../support/test-servers';
import { until } from '../../support/until';

/** One deployment's view of the shared Redis: its hub, what its owner and admin listeners got, and its publisher. */
async function deployment(namespace: string) {
  const channels = eventChannels(namespace);
  const hub = new SubscriptionHub(
    async () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
    channels,
  );
  const client = new Redis(TEST_REDIS_URL);
  const got = { owner: [] as EventJson[], admin: [] as EventJson[] };
  await hub.subscribe(channels.owner('local'), (e) => got.owner.push(e));
  await hub.subscribe(channels.allOwners, (e) => got.admin.push(e), true);
  const publisher = new RedisEventPublisher(
    async () => client,
    channels,
    'local',
    (m) => assert.fail(m),
  );
  return {
    got,
    publisher,
    close: async () => {
      await hub.close();
      client.disconnect();
    },
  };
}

const event = (taskId: string): TaskEventRow => ({
  taskId,
  seq: 1,
  at: new Date(),
  type: 'log',
  level: 'info',
  message: taskId,
  data: null,
});

describe('event channels under REDIS_NAMESPACE', () => {
  it("deployments sharing one Redis get only their own events, an admin's all-owners stream included", async () => {
    const run = randomBytes(4).toString('hex');
    const [a, b] = await Promise.all([deployment(`a-${run}`), deployment(`b-${run}`)]);
    try {
      b.publisher.publish(event('of-b'));
      a.publisher.publish(event('of-a'));
      assert.ok(
        await until(
          () => [a.got.owner, a.got.admin, b.got.owner, b.got.admin].every((g) => g.length > 0),
          5_000,
        ),
        'each listener got its own deployment’s event',
      );
      // b published first; a moment more for anything that crossed over to arrive.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        [a.got.owner, a.got.admin].map((g) => g.map((e) => e.taskId)),
        [['of-a'], ['of-a']],
      );
      assert.deepEqual(
        [b.got.owner, b.got.admin].map((g) => g.map((e) => e.taskId)),
        [['of-b'], ['of-b']],
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('names the task, owner and all-owners channels after the namespace', () => {
    const channels = eventChannels('longhaul');
    assert.deepEqual(
      [channels.task('t1'), channels.owner('alice'), channels.allOwners],
      ['longhaul:task:t1', 'longhaul:owner:alice', 'longhaul:owner:*'],
    );
  });
});
