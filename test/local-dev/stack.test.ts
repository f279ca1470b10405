import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BlobServiceClient } from '@azure/storage-blob';
import { ServiceBusClient } from '@azure/service-bus';
import Redis from 'ioredis';
import { Client } from 'pg';
import { commandLineOf, isAlive } from '../../local-dev/services/managed-process';
import { freePort, isPortFree } from '../../local-dev/services/ports';
import { isPostgresReachable } from '../../local-dev/services/postgres';
import { isRedisReachable } from '../../local-dev/services/redis';
import { startLocalStack, type LocalStack } from '../../local-dev/stack';
import { readStackRecord, writeStackRecord } from '../../local-dev/stack-record';
import { until } from '../support/until';
import { assertProcessesGone, descendantPids, makeTempDir } from './services/helpers';
import { TEST_POSTGRES_URL, TEST_REDIS_URL } from '../support/test-servers';

const portOf = (url: string) => Number(new URL(url).port);

function portsOf(settings: Record<string, string>): number[] {
  const storage = settings.TASKS_STORAGE.split(';').filter((part) => /Endpoint=http/.test(part));
  return [
    ...storage.map((part) => portOf(part.slice(part.indexOf('=') + 1))),
    Number(/^Endpoint=sb:\/\/127\.0\.0\.1:(\d+);/.exec(settings.ServiceBusConnection)?.[1]),
  ];
}

async function assertServiceBusAndBlobWork(settings: Record<string, string>): Promise<void> {
  const bus = new ServiceBusClient(settings.ServiceBusConnection);
  try {
    await bus
      .createSender(settings.TASKS_QUEUE)
      .sendMessages({ body: { taskId: 't-1' }, messageId: 't-1:0' });
    const receiver = bus.createReceiver(settings.TASKS_QUEUE, { receiveMode: 'receiveAndDelete' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    assert.deepEqual(message?.body, { taskId: 't-1' });
  } finally {
    await bus.close();
  }
  const container = BlobServiceClient.fromConnectionString(settings.TASKS_STORAGE).getContainerClient(
    'results',
  );
  await container.createIfNotExists();
  await container.getBlockBlobClient('t-1.json').upload('{}', 2);
  assert.equal((await container.getBlobClient('t-1.json').downloadToBuffer()).toString(), '{}');
}

async function stopAndAssertClean(stack: LocalStack, ports: number[], pids: number[]): Promise<void> {
  await Promise.all([stack.stop(), stack.stop()]);
  await stack.stop();
  for (const port of ports) assert.equal(await isPortFree(port), true, `port ${port} still taken`);
  assertProcessesGone(pids);
}

describe('local stack', () => {
  const temp = makeTempDir('stack');
  after(() => temp.remove());

  it("uses the machine's Postgres and Redis when they answer", async () => {
    assert.equal(await isPostgresReachable(TEST_POSTGRES_URL), true, 'the test Postgres must answer');
    assert.equal(await isRedisReachable(TEST_REDIS_URL), true, 'the test Redis must answer');
    const stack = await startLocalStack({
      stateDir: `${temp.path}/machine`,
      inMemory: true,
      databaseUrl: TEST_POSTGRES_URL,
      redisUrl: TEST_REDIS_URL,
      servicebusPort: 0,
    });
    const pids = descendantPids();
    const { settings } = stack;
    try {
      assert.deepEqual(Object.keys(settings).sort(), [
        'DATABASE_URL',
        'REDIS_URL',
        'ServiceBusConnection',
        'TASKS_QUEUE',
        'TASKS_STORAGE',
      ]);
      assert.equal(settings.DATABASE_URL, TEST_POSTGRES_URL);
      assert.equal(settings.REDIS_URL, TEST_REDIS_URL);
      assert.equal(settings.TASKS_QUEUE, 'tasks');
      assert.match(settings.ServiceBusConnection, /UseDevelopmentEmulator=true;$/);
      await assertServiceBusAndBlobWork(settings);
    } finally {
      await stopAndAssertClean(stack, portsOf(settings), pids);
    }
    assert.equal(
      await isPostgresReachable(TEST_POSTGRES_URL),
      true,
      'stop() must leave the machine Postgres alone',
    );
    assert.equal(await isRedisReachable(TEST_REDIS_URL), true, 'stop() must leave the machine Redis alone');
  });

  it('falls back to private Postgres and Redis when the given URLs do not answer', async () => {
    const lines: string[] = [];
    const stack = await startLocalStack({
      stateDir: `${temp.path}/private`,
      inMemory: true,
      databaseUrl: `postgres://postgres:secret@127.0.0.1:${await freePort()}/app`,
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      servicebusPort: 0,
      log: (line) => lines.push(line),
    });
    const pids = descendantPids();
    const { settings } = stack;
    try {
      assert.match(settings.DATABASE_URL, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/longhaul$/);
      assert.match(settings.REDIS_URL, /^redis:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(
        lines.some((line) => /DATABASE_URL .* does not answer; starting a private Postgres/.test(line)),
      );
      assert.ok(lines.some((line) => /REDIS_URL .* does not answer; starting a private Redis/.test(line)));
      assert.ok(!lines.some((line) => line.includes('secret')), 'the password must not be logged');

      const db = new Client({ connectionString: settings.DATABASE_URL });
      await db.connect();
      assert.deepEqual((await db.query('SELECT current_database() AS name')).rows, [{ name: 'longhaul' }]);
      await db.end();
      const redis = new Redis(settings.REDIS_URL);
      assert.equal(await redis.ping(), 'PONG');
      redis.disconnect();
      await assertServiceBusAndBlobWork(settings);
      assert.ok(pids.length >= 3, `expected Azurite, Postgres and Redis, found ${pids.length} processes`);
    } finally {
      await stopAndAssertClean(
        stack,
        [...portsOf(settings), portOf(settings.DATABASE_URL), portOf(settings.REDIS_URL)],
        pids,
      );
    }
  });

  it("npm start's stack: detached services, recorded; a later start reattaches, restarts a hung one, spares a reused pid", async () => {
    const stateDir = `${temp.path}/persistent`;
    const lines: string[] = [];
    const options = {
      stateDir,
      freePorts: true,
      databaseUrl: TEST_POSTGRES_URL,
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      log: (line: string) => lines.push(line),
    };
    // Not stopped: as after a crash of the start process, its services run on.
    const first = await startLocalStack(options);
    const recorded = readStackRecord(stateDir);
    assert.deepEqual(
      recorded.map((s) => s.name),
      ['servicebus', 'azurite', 'redis'],
    );
    for (const service of recorded) {
      const stat = readFileSync(`/proc/${service.pid}/stat`, 'utf8');
      const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
      assert.equal(session, service.pid, `${service.name} must lead a session of its own`);
      assert.deepEqual(commandLineOf(service.pid), service.commandLine);
    }
    assert.ok(existsSync(join(stateDir, 'logs/servicebus.log')));

    // Redis hangs (stands in for it: a live process with its command line that answers nowhere); the record's
    // Postgres pid now belongs to another program (this one).
    const redis = recorded.find((s) => s.name === 'redis')!;
    process.kill(redis.pid, 'SIGKILL');
    const hung = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const hungPid = hung.pid as number;
    await until(() => commandLineOf(hungPid)?.[0] === 'sleep', 2_000);
    writeStackRecord(stateDir, [
      ...recorded.filter((s) => s.name !== 'redis'),
      { ...redis, pid: hungPid, commandLine: commandLineOf(hungPid) ?? [], ports: [await freePort()] },
      { ...redis, name: 'postgres', pid: process.pid, commandLine: ['postgres', '-D', 'cluster'] },
    ]);
    lines.length = 0;
    const second = await startLocalStack(options);
    try {
      for (const service of recorded.filter((s) => s.name !== 'redis'))
        assert.ok(
          lines.includes(
            `reattached to ${service.name} (pid ${service.pid}), left running by an earlier start`,
          ),
        );
      assert.ok(
        lines.includes(`redis (pid ${hungPid}) does not answer; stopping it to start it again`),
        lines.join('\n'),
      );
      assert.equal(isAlive(hungPid), false);
      assert.ok(
        !lines.some((line) => line.includes('postgres')),
        'a pid reused by another program was touched',
      );
      assert.equal(second.settings.TASKS_STORAGE, first.settings.TASKS_STORAGE);
      assert.equal(second.settings.ServiceBusConnection, first.settings.ServiceBusConnection);
      assert.notEqual(second.settings.REDIS_URL, first.settings.REDIS_URL);
      await assertServiceBusAndBlobWork(second.settings);
      assert.equal(await isRedisReachable(second.settings.REDIS_URL), true);
    } finally {
      await second.stop();
    }
    for (const service of recorded.filter((s) => s.name !== 'redis'))
      assert.equal(isAlive(service.pid), false);
    assert.equal(existsSync(join(stateDir, 'stack.json')), false);
  });
});
