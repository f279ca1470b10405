import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';
import { receiveCount, startHarness } from './harness';

const root = join(__dirname, '../../../..');
const cli = join(__dirname, '../../../local-dev/servicebus-emulator/cli.js');
const journalOf = (dir: string) => join(dir, 'journal.log');

describe('Service Bus emulator: persistence under dataDir', () => {
  const dirs: string[] = [];
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-emulator-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('brings back queued, scheduled, deferred and dead-lettered messages with their sequence numbers', async () => {
    const dataDir = freshDir();
    const queues = { work: { MaxDeliveryCount: 5 } };
    const first = await startHarness(queues, { dataDir });
    const sender = first.client.createSender('work');
    await sender.sendMessages([
      { body: 'queued' },
      { body: 'to-defer' },
      { body: 'to-dead-letter' },
      { body: 'locked' },
    ]);
    const [scheduled] = await sender.scheduleMessages(
      { body: 'scheduled' },
      new Date(Date.now() + 3_600_000),
    );
    await sender.sendMessages({
      body: 'scheduled-on-send',
      scheduledEnqueueTimeUtc: new Date(Date.now() + 3_600_000),
    });
    const receiver = first.client.createReceiver('work');
    const [queued, toDefer, toDeadLetter, locked] = await receiveCount(receiver, 4);
    await receiver.abandonMessage(queued);
    await receiver.deferMessage(toDefer);
    await receiver.deadLetterMessage(toDeadLetter, {
      deadLetterReason: 'bad',
      deadLetterErrorDescription: 'test',
    });
    // `locked` stays locked when the emulator stops: locks are not persisted.
    assert.equal(locked.body, 'locked');
    const before = await first.client.createReceiver('work').peekMessages(10);
    await first.close();

    const second = await startHarness(queues, { dataDir });
    try {
      const peeked = await second.client.createReceiver('work').peekMessages(10);
      assert.deepEqual(
        peeked.map((m) => [m.body, m.sequenceNumber?.toNumber(), m.state]),
        before.map((m) => [m.body, m.sequenceNumber?.toNumber(), m.state]),
      );
      assert.equal(Number(scheduled), peeked.find((m) => m.body === 'scheduled')?.sequenceNumber?.toNumber());

      const again = second.client.createReceiver('work');
      const active = await receiveCount(again, 2);
      assert.deepEqual(
        active.map((m) => [m.body, m.deliveryCount]),
        [
          ['queued', 1],
          ['locked', 1],
        ],
      );
      const [deferred] = await again.receiveDeferredMessages(toDefer.sequenceNumber!);
      assert.equal(deferred.body, 'to-defer');
      const dlq = await second.client.createReceiver('work', { subQueueType: 'deadLetter' }).peekMessages(5);
      assert.deepEqual(
        dlq.map((m) => [m.body, m.deadLetterReason]),
        [['to-dead-letter', 'bad']],
      );
      const [next] = await second.client
        .createSender('work')
        .scheduleMessages({ body: 'x' }, new Date(Date.now() + 60_000));
      assert.ok(Number(next) > Math.max(...peeked.map((m) => m.sequenceNumber!.toNumber())));
    } finally {
      await second.close();
    }
  });

  it('keeps every acknowledged send when the process is killed with SIGKILL', async () => {
    const dataDir = freshDir();
    const child = spawn(
      process.execPath,
      [
        cli,
        '--config',
        join(root, 'local-dev/servicebus-config.json'),
        '--port',
        '0',
        '--quiet',
        '--data-dir',
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [connectionString] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const client = new ServiceBusClient(connectionString, {
      retryOptions: { maxRetries: 0, timeoutInMs: 5_000 },
    });
    const sender = client.createSender('tasks');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sender.sendMessages({ body: i, messageId: `m-${i}` })),
    );
    const [sequenceNumber] = await sender.scheduleMessages(
      { body: 'later' },
      new Date(Date.now() + 3_600_000),
    );
    child.kill('SIGKILL');
    await once(child, 'exit');
    await client.close();

    const h = await startHarness({ tasks: { RequiresDuplicateDetection: true } }, { dataDir });
    try {
      const peeked = await h.client.createReceiver('tasks').peekMessages(50);
      assert.deepEqual(
        peeked.map((m) => m.body).sort((a: number, b: number) => a - b),
        [...Array.from({ length: 20 }, (_, i) => i), 'later'].sort((a, b) => Number(a) - Number(b)),
      );
      assert.equal(
        peeked.find((m) => m.body === 'later')?.sequenceNumber?.toNumber(),
        Number(sequenceNumber),
      );
      // The duplicate-detection history survived too: a resend of m-3 is dropped.
      await h.client.createSender('tasks').sendMessages({ body: 'dup', messageId: 'm-3' });
      const receiver = h.client.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
      const active = await receiveCount(receiver, 21, 500);
      assert.deepEqual(
        active.map((m) => m.body),
        Array.from({ length: 20 }, (_, i) => i),
      );
    } finally {
      await h.close();
    }
  });

  it('cuts off a torn tail and keeps every whole record before it', async () => {
    const dataDir = freshDir();
    const first = await startHarness({ q: {} }, { dataDir });
    await first.client.createSender('q').sendMessages([{ body: 'a' }, { body: 'b' }]);
    await first.close();
    const intact = statSync(journalOf(dataDir)).size;
    // Half a frame: a header promising 100 bytes of payload, and 3 of them.
    appendFileSync(journalOf(dataDir), Buffer.from([100, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9]));

    const lines: string[] = [];
    const second = await startHarness({ q: {} }, { dataDir, log: (line) => lines.push(line) });
    try {
      assert.equal(statSync(journalOf(dataDir)).size, intact);
      assert.ok(lines.some((l) => /torn tail of 11 byte/.test(l)));
      const peeked = await second.client.createReceiver('q').peekMessages(5);
      assert.deepEqual(
        peeked.map((m) => [m.body, m.sequenceNumber?.toNumber()]),
        [
          ['a', 1],
          ['b', 2],
        ],
      );
    } finally {
      await second.close();
    }
  });

  it('compacts the journal past its size limit and keeps the live state', async () => {
    const dataDir = freshDir();
    const options = { dataDir, compactAtBytes: 8 * 1024 };
    const first = await startHarness({ q: {} }, options);
    const sender = first.client.createSender('q');
    const body = 'x'.repeat(200);
    for (let i = 0; i < 6; i++) {
      await sender.sendMessages(Array.from({ length: 10 }, () => ({ body })));
    }
    const receiver = first.client.createReceiver('q', { receiveMode: 'receiveAndDelete' });
    assert.equal((await receiveCount(receiver, 55)).length, 55);
    await sender.sendMessages({ body: 'after' });
    await first.close();
    // 61 messages of 200+ bytes went through; what is left is a snapshot of 6 plus little more.
    assert.ok(
      statSync(journalOf(dataDir)).size < 8 * 1024,
      `journal is ${statSync(journalOf(dataDir)).size} bytes`,
    );

    const second = await startHarness({ q: {} }, options);
    try {
      const peeked = await second.client.createReceiver('q').peekMessages(20);
      assert.deepEqual(
        peeked.map((m) => m.sequenceNumber?.toNumber()),
        [56, 57, 58, 59, 60, 61],
      );
      const [next] = await second.client
        .createSender('q')
        .scheduleMessages({ body }, new Date(Date.now() + 60_000));
      assert.equal(Number(next), 62);
    } finally {
      await second.close();
    }
  });
});
