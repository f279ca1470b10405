import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { receiveCount, sleep, startHarness, type Harness } from './harness';

describe('Service Bus emulator: scheduled messages, time-to-live and duplicate detection', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      scheduled: {},
      ttl: { DeadLetteringOnMessageExpiration: true },
      ttlDrop: { DefaultMessageTimeToLive: 'PT0.3S' },
      dedup: { RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: 'PT0.5S' },
      nodedup: {},
    });
  });
  after(() => h.close());

  it('holds a message sent with scheduledEnqueueTimeUtc until its time', async () => {
    const at = new Date(Date.now() + 1_500);
    await h.client.createSender('scheduled').sendMessages({ body: 'later', scheduledEnqueueTimeUtc: at });
    const receiver = h.client.createReceiver('scheduled', { receiveMode: 'receiveAndDelete' });
    // Whenever it arrives (a loaded machine can be slow to open the link), it is never before its time.
    const received = await receiveCount(receiver, 1, 4_000);
    const receivedAt = Date.now();
    const [m] = received;
    assert.equal(m.body, 'later');
    assert.ok(receivedAt >= at.getTime() - 5, `received ${at.getTime() - receivedAt} ms early`);
    assert.equal(m.scheduledEnqueueTimeUtc?.getTime(), at.getTime());
    await receiver.close();
  });

  it('schedules with scheduleMessages, shows them to peek, and cancels by sequence number', async () => {
    const sender = h.client.createSender('scheduled');
    const at = new Date(Date.now() + 500);
    const [keep, cancel] = await sender.scheduleMessages([{ body: 'keep' }, { body: 'cancel' }], at);
    assert.ok(cancel.greaterThan(keep));
    const receiver = h.client.createReceiver('scheduled', { receiveMode: 'receiveAndDelete' });
    const peeked = await receiver.peekMessages(10, { fromSequenceNumber: keep });
    assert.deepEqual(
      peeked.map((m) => m.body),
      ['keep', 'cancel'],
    );
    await sender.cancelScheduledMessages(cancel);
    await assert.rejects(sender.cancelScheduledMessages(cancel), /not found/i);
    const got = await receiveCount(receiver, 2, 1_200);
    assert.deepEqual(
      got.map((m) => m.body),
      ['keep'],
    );
    await receiver.close();
  });

  it('dead-letters an expired message when the queue says so', async () => {
    await h.client.createSender('ttl').sendMessages([{ body: 'stale', timeToLive: 200 }, { body: 'fresh' }]);
    await sleep(400);
    const receiver = h.client.createReceiver('ttl', { receiveMode: 'receiveAndDelete' });
    const live = await receiveCount(receiver, 2, 500);
    assert.deepEqual(
      live.map((m) => m.body),
      ['fresh'],
    );
    const dlq = h.client.createReceiver('ttl', {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    const [dead] = await receiveCount(dlq, 1);
    assert.equal(dead.body, 'stale');
    assert.equal(dead.deadLetterReason, 'TTLExpiredException');
    await receiver.close();
    await dlq.close();
  });

  it("drops a message past the queue's default time-to-live when dead-lettering is off", async () => {
    await h.client.createSender('ttlDrop').sendMessages({ body: 'gone' });
    await sleep(1_300);
    assert.equal(h.emulator.queue('ttlDrop')?.size, 0, 'the sweep removed it without a receiver');
    const dlq = h.client.createReceiver('ttlDrop', { subQueueType: 'deadLetter' });
    assert.deepEqual(await dlq.receiveMessages(1, { maxWaitTimeInMs: 200 }), []);
    await dlq.close();
  });

  it('drops a duplicate message id inside the detection window and accepts it after', async () => {
    const sender = h.client.createSender('dedup');
    await sender.sendMessages({ body: 'first', messageId: 'task-1' });
    await sender.sendMessages({ body: 'duplicate', messageId: 'task-1' });
    await sender.sendMessages({ body: 'other', messageId: 'task-2' });
    await sleep(600);
    await sender.sendMessages({ body: 'after window', messageId: 'task-1' });
    const receiver = h.client.createReceiver('dedup', { receiveMode: 'receiveAndDelete' });
    const got = await receiveCount(receiver, 4, 800);
    assert.deepEqual(
      got.map((m) => m.body),
      ['first', 'other', 'after window'],
    );
    await receiver.close();
  });

  it('keeps duplicates on a queue without duplicate detection', async () => {
    const sender = h.client.createSender('nodedup');
    await sender.sendMessages([
      { body: 1, messageId: 'same' },
      { body: 2, messageId: 'same' },
    ]);
    assert.equal(h.emulator.queue('nodedup')?.size, 2);
  });
});
