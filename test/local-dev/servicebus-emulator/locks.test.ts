import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';
import { receiveCount, sleep, startHarness, type Harness } from './harness';

describe('Service Bus emulator: locks, redelivery and competing receivers', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      expiry: { LockDuration: 'PT0.5S' },
      renew: { LockDuration: 'PT0.5S' },
      poison: { MaxDeliveryCount: 3 },
      compete: { LockDuration: 'PT1M' },
      disconnect: { LockDuration: 'PT0.5S' },
      stale: { LockDuration: 'PT0.5S' },
      busy: {},
    });
  });
  after(() => h.close());

  it('redelivers a message whose lock expired, and refuses to settle it with the old lock', async () => {
    await h.client.createSender('expiry').sendMessages({ body: 'slow' });
    const receiver = h.client.createReceiver('expiry', { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveCount(receiver, 1);
    assert.equal(first.deliveryCount, 0);
    await sleep(700);
    await assert.rejects(receiver.completeMessage(first), (err: { code?: string }) => {
      assert.equal(err.code, 'MessageLockLost');
      return true;
    });
    const [second] = await receiveCount(receiver, 1);
    assert.equal(second.body, 'slow');
    assert.equal(second.deliveryCount, 1);
    assert.notEqual(second.lockToken, first.lockToken);
    await receiver.completeMessage(second);
    await receiver.close();
  });

  it('keeps a message locked while renew-lock extends it', async () => {
    await h.client.createSender('renew').sendMessages({ body: 'long' });
    const receiver = h.client.createReceiver('renew', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiveCount(receiver, 1);
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      const until = await receiver.renewMessageLock(m);
      assert.ok(until.getTime() > Date.now() + 300, 'lock extended by the lock duration');
    }
    assert.deepEqual(await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 }), [], 'not redelivered');
    await receiver.completeMessage(m);
    await receiver.close();
  });

  it("renews locks automatically for the SDK's default receivers", async () => {
    await h.client.createSender('renew').sendMessages({ body: 'auto' });
    const receiver = h.client.createReceiver('renew', { maxAutoLockRenewalDurationInMs: 5_000 });
    const [m] = await receiveCount(receiver, 1);
    await sleep(1_200);
    await receiver.completeMessage(m);
    assert.equal(h.emulator.queue('renew')?.size, 0);
    await receiver.close();
  });

  it('moves a message to the dead-letter queue after MaxDeliveryCount deliveries', async () => {
    await h.client.createSender('poison').sendMessages({ body: 'poison' });
    const receiver = h.client.createReceiver('poison');
    for (let i = 0; i < 3; i++) {
      const [m] = await receiveCount(receiver, 1);
      assert.equal(m.deliveryCount, i);
      await receiver.abandonMessage(m);
    }
    assert.deepEqual(await receiver.receiveMessages(1, { maxWaitTimeInMs: 200 }), []);
    // The sub-queue path is matched without regard to case, as on Azure.
    const dlq = h.client.createReceiver('poison/$deadletterqueue');
    const [dead] = await receiveCount(dlq, 1);
    assert.equal(dead.body, 'poison');
    assert.equal(dead.deadLetterReason, 'MaxDeliveryCountExceeded');
    assert.equal(dead.deliveryCount, 3);
    await dlq.completeMessage(dead);
    await receiver.close();
    await dlq.close();
  });

  it('gives each of 1,000 messages to exactly one of 10 competing receivers', async () => {
    const total = 1_000;
    const sender = h.client.createSender('compete');
    for (let i = 0; i < total; i += 100) {
      await sender.sendMessages(Array.from({ length: 100 }, (_, j) => ({ body: i + j })));
    }
    const clients = Array.from({ length: 3 }, () => new ServiceBusClient(h.emulator.connectionString));
    const seen = new Map<number, number>();
    let done = 0;
    const receivers = Array.from({ length: 10 }, (_, r) =>
      clients[r % clients.length].createReceiver('compete', { maxAutoLockRenewalDurationInMs: 0 }),
    );
    await Promise.all(
      receivers.map(async (receiver) => {
        while (done < total) {
          const batch = await receiver.receiveMessages(20, { maxWaitTimeInMs: 200 });
          for (const m of batch) {
            seen.set(m.body as number, (seen.get(m.body as number) ?? 0) + 1);
            await receiver.completeMessage(m);
            done++;
          }
          if (batch.length === 0 && h.emulator.queue('compete')?.size === 0) break;
        }
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    assert.equal(seen.size, total, 'none lost');
    assert.deepEqual(
      [...seen.values()].filter((n) => n !== 1),
      [],
      'none delivered twice',
    );
    assert.equal(h.emulator.queue('compete')?.size, 0);
  });

  it("keeps one receiver flowing past rhea's 2,048-delivery session buffer", async () => {
    const total = 2_500;
    const sender = h.client.createSender('busy');
    for (let i = 0; i < total; i += 250) {
      await sender.sendMessages(Array.from({ length: 250 }, (_, j) => ({ body: i + j })));
    }
    const receiver = h.client.createReceiver('busy', { maxAutoLockRenewalDurationInMs: 0 });
    let completed = 0;
    while (completed < total) {
      const batch = await receiver.receiveMessages(250, { maxWaitTimeInMs: 2_000 });
      assert.ok(batch.length > 0, `stalled after ${completed} messages`);
      await Promise.all(batch.map((m) => receiver.completeMessage(m)));
      completed += batch.length;
    }
    assert.equal(h.emulator.queue('busy')?.size, 0);
    await receiver.close();
  });

  it('returns the locked messages of a client that vanished once their locks expire', async () => {
    await h.client.createSender('disconnect').sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const gone = new ServiceBusClient(h.emulator.connectionString);
    const doomed = gone.createReceiver('disconnect', { maxAutoLockRenewalDurationInMs: 0 });
    const held = await receiveCount(doomed, 3);
    assert.equal(held.length, 3);
    await gone.close();
    const receiver = h.client.createReceiver('disconnect');
    const back = await receiveCount(receiver, 3, 3_000);
    assert.deepEqual(
      back.map((m) => m.body),
      [1, 2, 3],
    );
    assert.deepEqual(
      back.map((m) => m.deliveryCount),
      [1, 1, 1],
    );
    for (const m of back) await receiver.completeMessage(m);
    await receiver.close();
  });

  it('reports MessageLockLost through $management for a lock that expired after its link closed', async () => {
    await h.client.createSender('stale').sendMessages({ body: 'late' });
    const receiver = h.client.createReceiver('stale', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiveCount(receiver, 1);
    await receiver.close();
    await sleep(700);
    const other = h.client.createReceiver('stale');
    await assert.rejects(other.completeMessage(m), (err: { code?: string }) => {
      assert.equal(err.code, 'MessageLockLost');
      return true;
    });
    const [again] = await receiveCount(other, 1);
    assert.equal(again.body, 'late');
    await other.completeMessage(again);
    await other.close();
  });
});
