import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Redis from 'ioredis';
import { freePort, isPortFree } from '../../../local-dev/services/ports';
import { isRedisReachable, startRedis } from '../../../local-dev/services/redis';
import { assertProcessesGone, descendantPids, makeTempDir } from './helpers';

async function withRedis<T>(url: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url);
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

describe('redis', () => {
  const temp = makeTempDir('redis');
  after(() => temp.remove());

  it('runs a private in-memory server: SET, GET, stop', async () => {
    const server = await startRedis();
    const pids = descendantPids();
    const port = Number(new URL(server.url).port);
    try {
      assert.equal(await isRedisReachable(server.url), true);
      assert.equal(await withRedis(server.url, async (r) => (await r.set('k', 'v'), r.get('k'))), 'v');
    } finally {
      await server.stop();
    }
    assert.equal(await isPortFree(port), true);
    assertProcessesGone(pids);
    assert.equal(await isRedisReachable(server.url), false);
  });

  it('keeps data under dataDir across a restart', async () => {
    const port = await freePort();
    const first = await startRedis({ dataDir: temp.path, port });
    try {
      await withRedis(first.url, (r) => r.set('kept', 'yes'));
    } finally {
      await first.stop();
    }
    const second = await startRedis({ dataDir: temp.path, port });
    try {
      assert.equal(await withRedis(second.url, (r) => r.get('kept')), 'yes');
    } finally {
      await second.stop();
    }
  });

  it('says in one line how to get redis-server when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = temp.path;
    try {
      await assert.rejects(startRedis(), (err: Error) => {
        assert.doesNotMatch(err.message, /\n/);
        assert.match(err.message, /apt-get install redis-server/);
        assert.match(err.message, /REDIS_URL/);
        return true;
      });
    } finally {
      process.env.PATH = path;
    }
  });
});
