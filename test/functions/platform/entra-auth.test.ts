import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { Redis } from 'ioredis';
import { Client, Pool } from 'pg';
import {
  ENTRA_POSTGRES_SCOPE,
  ENTRA_REDIS_SCOPE,
  entraTokenSource,
  refreshAt,
} from '../../../functions/platform/entra-token';
import { createPostgresPool, entraPassword } from '../../../functions/platform/postgres-pool';
import { createEntraRedisClient } from '../../../functions/platform/redis-client';
import { startPostgres, type Postgres } from '../../../local-dev/services/postgres';
import { startRedis, type RedisServer } from '../../../local-dev/services/redis';

// Entra ID cannot run on this machine. This credential stands in for it (the one fake in these tests): it issues the
// given tokens in turn, each valid for `lifetimeMs`. The servers below are real and check the tokens as passwords,
// the way Azure Database for PostgreSQL and Azure Managed Redis check Entra tokens.
function fakeCredential(tokens: string[], lifetimeMs: number) {
  const issued: { scope: string; token: string }[] = [];
  const credential: TokenCredential = {
    getToken: async (scopes) => {
      const token = tokens[Math.min(issued.length, tokens.length - 1)];
      issued.push({ scope: String(scopes), token });
      return { token, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return { credential, issued };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await sleep(50);
  }
}

describe('Entra token source', () => {
  it('renews 5 minutes before expiry, halfway through short lifetimes, or when the credential says', () => {
    const now = 1_000_000;
    const hour = { token: 't', expiresOnTimestamp: now + 3_600_000 };
    assert.equal(refreshAt(hour, now), now + 3_300_000);
    assert.equal(refreshAt({ token: 't', expiresOnTimestamp: now + 2_000 }, now), now + 1_000);
    assert.equal(refreshAt({ ...hour, refreshAfterTimestamp: now + 60_000 }, now), now + 60_000);
  });

  it('serves the cached token until it is due, shares one request, and retries after a failure', async () => {
    let calls = 0;
    let fail = true;
    const credential: TokenCredential = {
      getToken: async (): Promise<AccessToken> => {
        calls++;
        await sleep(10);
        if (fail) throw new Error('identity endpoint unreachable');
        return { token: `t${calls}`, expiresOnTimestamp: Date.now() + 400 };
      },
    };
    const tokens = entraTokenSource(credential, ENTRA_REDIS_SCOPE);
    await assert.rejects(tokens(), /unreachable/);
    fail = false;
    const [a, b] = await Promise.all([tokens(), tokens()]);
    assert.equal(a.token, 't2');
    assert.equal(b.token, 't2');
    assert.equal((await tokens()).token, 't2', 'cached while not due');
    await sleep(250); // due halfway through the 400 ms lifetime
    assert.equal((await tokens()).token, 't3');
    assert.equal(calls, 3);
  });
});

describe('Postgres with Entra tokens (a private server that requires passwords)', () => {
  let dataDir: string;
  let server: Postgres;
  let port: number;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'longhaul-entra-pg-'));
    server = await startPostgres({ dataDir });
    port = Number(new URL(server.url).port);
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    try {
      // Password checks for every role but the superuser; the shared test server trusts everyone.
      const { rows } = await admin.query<{ hba_file: string }>('SHOW hba_file');
      const hba = [
        'local all all trust',
        'host all postgres 127.0.0.1/32 trust',
        'host all all 127.0.0.1/32 scram-sha-256',
      ];
      const lines = hba.map((line) => `SELECT '${line}'`).join(' UNION ALL ');
      await admin.query(`COPY (${lines}) TO '${rows[0].hba_file}'`);
      await admin.query('SELECT pg_reload_conf()');
      await admin.query(`CREATE ROLE "id-api" LOGIN PASSWORD 'token-1'`);
    } finally {
      await admin.end();
    }
  });

  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('each new connection signs in with a current token; open ones outlive the rotation', async () => {
    const fake = fakeCredential(['token-1', 'token-2'], 1_000);
    const pool = new Pool({
      host: '127.0.0.1',
      port,
      user: 'id-api',
      database: 'postgres',
      max: 2,
      password: entraPassword(entraTokenSource(fake.credential, ENTRA_POSTGRES_SCOPE)),
    });
    try {
      const first = await pool.connect();
      assert.equal((await first.query<{ u: string }>('SELECT current_user AS u')).rows[0].u, 'id-api');

      const admin = new Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`ALTER ROLE "id-api" PASSWORD 'token-2'`);
      await admin.end();
      await sleep(600); // token-1 is due for refresh halfway through its second

      const second = await pool.connect();
      assert.equal((await second.query<{ u: string }>('SELECT current_user AS u')).rows[0].u, 'id-api');
      assert.equal((await first.query('SELECT 1 AS one')).rows[0].one, 1, 'the older connection still works');
      first.release();
      second.release();
      assert.deepEqual(
        fake.issued.map((i) => [i.scope, i.token]),
        [
          [ENTRA_POSTGRES_SCOPE, 'token-1'],
          [ENTRA_POSTGRES_SCOPE, 'token-2'],
        ],
      );
    } finally {
      await pool.end();
    }
  });

  it('the server refuses a stale token (so the test above proves the refresh)', async () => {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user: 'id-api',
      database: 'postgres',
      password: 'token-1',
    });
    await assert.rejects(client.connect(), /password authentication failed/);
  });

  it('the pool uses Entra tokens when the PG* settings have no password', () => {
    const settings = { kind: 'params', host: 'h', port: 6432, user: 'u', database: 'd', ssl: true } as const;
    const withToken = createPostgresPool(settings);
    const withPassword = createPostgresPool({ ...settings, password: 'p' });
    assert.equal(typeof withToken.options.password, 'function');
    assert.equal(withPassword.options.password, 'p');
    void withToken.end();
    void withPassword.end();
  });
});

describe('Redis with Entra tokens (a private server with an ACL user)', () => {
  let server: RedisServer;
  let admin: Redis;
  let port: number;

  before(async () => {
    server = await startRedis();
    port = Number(new URL(server.url).port);
    admin = new Redis(server.url);
    // As on Azure Managed Redis: the user is the identity's object id, the password its current token.
    await admin.call('ACL', 'SETUSER', 'object-id', 'on', '>token-1', '>token-2', '~*', '&*', '+@all');
  });

  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  const connectionIds = async () =>
    ((await admin.call('CLIENT', 'LIST')) as string)
      .split('\n')
      .filter((line) => / user=object-id /.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);
  const authCalls = async () =>
    Number(/cmdstat_auth:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);

  it('signs in again on the open connection before the token expires', async () => {
    const fake = fakeCredential(['token-1', 'token-2'], 2_000);
    const client = await createEntraRedisClient(
      { host: '127.0.0.1', port, username: 'object-id' },
      entraTokenSource(fake.credential, ENTRA_REDIS_SCOPE),
    );
    try {
      assert.equal(await client.call('ACL', 'WHOAMI'), 'object-id');
      const [id] = await connectionIds();
      const authBefore = await authCalls();
      await until(() => fake.issued.length === 2);
      await until(async () => (await authCalls()) > authBefore);
      // token-1 is withdrawn; the connection is the same one, and a reconnect would use token-2.
      await admin.call('ACL', 'SETUSER', 'object-id', '<token-1');
      assert.deepEqual(await connectionIds(), [id]);
      assert.equal(client.options.password, 'token-2');
      await admin.call('CLIENT', 'KILL', 'USER', 'object-id');
      await until(async () => (await client.ping().catch(() => '')) === 'PONG');
    } finally {
      client.disconnect();
      await admin.call('ACL', 'SETUSER', 'object-id', '>token-1');
    }
  });

  // RESP3 allows AUTH on a subscribed connection; over RESP2 the connection is reopened and re-subscribed.
  for (const [protocol, sameConnection] of [
    [2, false],
    [3, true],
  ] as const) {
    it(`a subscriber keeps receiving across the renewal (RESP${protocol})`, async () => {
      const fake = fakeCredential(['token-1', 'token-2'], 2_000);
      const subscriber = await createEntraRedisClient(
        { host: '127.0.0.1', port, username: 'object-id', protocol },
        entraTokenSource(fake.credential, ENTRA_REDIS_SCOPE),
      );
      const received: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => received.push(message));
      try {
        await subscriber.subscribe('longhaul:test');
        await admin.publish('longhaul:test', 'before');
        await until(() => received.includes('before'));
        const [before] = await connectionIds();
        await until(() => fake.issued.length === 2);
        await until(() => subscriber.status === 'ready' && subscriber.options.password === 'token-2');
        await until(
          async () => (await admin.publish('longhaul:test', 'after')) === 1 && received.includes('after'),
        );
        assert.equal((await connectionIds())[0] === before, sameConnection);
      } finally {
        subscriber.disconnect();
      }
    });
  }
});
