import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { freePort, isPortFree } from '../../../local-dev/services/ports';
import {
  dropDatabase,
  ensureDatabase,
  isPostgresReachable,
  startPostgres,
} from '../../../local-dev/services/postgres';
import { assertProcessesGone, descendantPids, makeTempDir } from './helpers';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const withDatabase = (url: string, name: string) =>
  Object.assign(new URL(url), { pathname: `/${name}` }).toString();

describe('postgres', () => {
  const temp = makeTempDir('postgres');
  after(() => temp.remove());

  it('runs a private cluster whose data survives a restart on the same folder', async () => {
    const port = await freePort();
    const first = await startPostgres({ dataDir: temp.path, port });
    const pids = descendantPids();
    try {
      assert.equal(first.url, `postgres://postgres@127.0.0.1:${port}/postgres`);
      await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$across restarts$$)');
    } finally {
      await first.stop();
    }
    assert.equal(await isPortFree(port), true);
    assertProcessesGone(pids);

    const second = await startPostgres({ dataDir: temp.path, port });
    try {
      assert.deepEqual(await query(second.url, 'SELECT v FROM kept'), [{ v: 'across restarts' }]);

      await ensureDatabase(second.url, 'longhaul_test');
      await ensureDatabase(second.url, 'longhaul_test');
      const dbUrl = withDatabase(second.url, 'longhaul_test');
      assert.equal(await isPostgresReachable(dbUrl), true);
      await dropDatabase(second.url, 'longhaul_test');
      await dropDatabase(second.url, 'longhaul_test');
      assert.equal(await isPostgresReachable(dbUrl), false);
    } finally {
      await second.stop();
    }
  });

  it('reports an address where nothing listens as unreachable, quickly', async () => {
    const started = Date.now();
    assert.equal(
      await isPostgresReachable(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`),
      false,
    );
    assert.ok(Date.now() - started < 2_500);
  });
});
