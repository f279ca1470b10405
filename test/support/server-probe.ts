import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import Redis from 'ioredis';
import { Client } from 'pg';
import { TEST_POSTGRES_URL, TEST_REDIS_URL } from './test-servers';

/**
 * A test file for test/support/run-tests.test.ts to run through `npm test`'s runner: it reaches the servers the runner
 * hands the tests and writes what they are to SERVER_PROBE_OUT.
 */
it('reaches the Postgres and Redis that the runner hands the tests', async () => {
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  await client.end();
  const redis = new Redis(TEST_REDIS_URL);
  const pong = await redis.ping();
  redis.disconnect();
  const out = process.env.SERVER_PROBE_OUT;
  if (out) writeFileSync(out, JSON.stringify({ postgres: rows[0].server_version, redis: pong }));
});
