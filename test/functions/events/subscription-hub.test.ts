import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startTcpProxy, type TcpProxy } from '../../../chaos/tcp-proxy';
import { eventChannels, type EventJson } from '../../../functions/events/event-json';
import { SubscriptionHub } from '../../../functions/events/subscription-hub';
import { startRedis, type RedisServer } from '../../../local-dev/services/redis';
import { until } from '../../support/until';

describe('subscription hub', () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  before(async () => {
    redis = await startRedis({ port: 0 });
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
  });
  after(async () => {
    await proxy.close();
    await redis.stop();
  });

  it('drops a connection that goes silent, so streams poll, and is live again once the network heals', async () => {
    // The hub reaches Redis through a proxy that can drop every byte, as a network partition does: no error comes.
    const hub = new SubscriptionHub(
      async () => new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null }),
      eventChannels('longhaul'),
      { checkEveryMs: 200, checkTimeoutMs: 300 },
    );
    const publisher = new Redis(redis.url);
    const got: EventJson[] = [];
    try {
      const stop = await hub.subscribe('hub-test', (event) => got.push(event));
      assert.ok(await until(() => hub.live, 2_000), 'live at first');
      let reconnects = 0;
      hub.onReconnect(() => reconnects++);

      proxy.blackhole();
      assert.ok(await until(() => !hub.live, 2_000), 'a silent connection is no longer taken for live');

      proxy.heal();
      assert.ok(await until(() => hub.live && reconnects > 0, 5_000), 'live again, on a new connection');
      const event = { seq: 1, taskId: 't', type: 'log', at: new Date().toISOString() } as EventJson;
      await until(() => {
        void publisher.publish('hub-test', JSON.stringify(event));
        return got.length > 0;
      }, 2_000);
      assert.equal(got[0]?.seq, 1, 'messages flow again after the resubscribe');
      stop();
    } finally {
      publisher.disconnect();
      await hub.close();
    }
  });
});
