import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { receiveCount, startHarness, type Harness } from './harness';

describe('Service Bus emulator: sending and receiving with the real SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      plain: {},
      batches: {},
      rad: {},
      settle: { MaxDeliveryCount: 5 },
      drain: {},
      peek: {},
      links: {},
      auto: {},
    });
  });
  after(() => h.close());

  it('delivers a single message with its body, properties and broker annotations', async () => {
    const before = Date.now();
    const sender = h.client.createSender('plain');
    await sender.sendMessages({
      body: { job: 42 },
      messageId: 'm-1',
      contentType: 'application/json',
      correlationId: 'corr',
      subject: 'subj',
      applicationProperties: { traceparent: '00-abc-def-01', attempt: 3 },
      timeToLive: 60_000,
    });
    const receiver = h.client.createReceiver('plain');
    const [m] = await receiveCount(receiver, 1);
    assert.deepEqual(m.body, { job: 42 });
    assert.equal(m.messageId, 'm-1');
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.correlationId, 'corr');
    assert.equal(m.subject, 'subj');
    assert.deepEqual(m.applicationProperties, { traceparent: '00-abc-def-01', attempt: 3 });
    assert.equal(m.timeToLive, 60_000);
    assert.equal(m.deliveryCount, 0);
    assert.equal(m.sequenceNumber?.toNumber(), 1);
    assert.ok(m.enqueuedTimeUtc && m.enqueuedTimeUtc.getTime() >= before - 5);
    assert.ok(m.lockedUntilUtc && m.lockedUntilUtc.getTime() > Date.now() + 50_000, 'locked for ~60 s');
    assert.match(m.lockToken ?? '', /^[0-9a-f-]{36}$/);
    await receiver.completeMessage(m);
    await receiver.close();
    await sender.close();
  });

  it('assigns a message id when the sender gives none, and numbers messages in order', async () => {
    const sender = h.client.createSender('batches');
    await sender.sendMessages([{ body: 'a' }, { body: 'b' }]);
    const batch = await sender.createMessageBatch();
    assert.ok(batch.tryAddMessage({ body: 'c' }));
    assert.ok(batch.tryAddMessage({ body: 'd' }));
    await sender.sendMessages(batch);
    const receiver = h.client.createReceiver('batches');
    const got = await receiveCount(receiver, 4);
    assert.deepEqual(
      got.map((m) => m.body),
      ['a', 'b', 'c', 'd'],
    );
    assert.deepEqual(
      got.map((m) => m.sequenceNumber?.toNumber()),
      [1, 2, 3, 4],
    );
    for (const m of got) {
      assert.equal(typeof m.messageId, 'string');
      assert.ok(String(m.messageId).length >= 16);
      await receiver.completeMessage(m);
    }
    assert.equal(new Set(got.map((m) => m.messageId)).size, 4);
    await receiver.close();
  });

  it('removes messages on delivery in receive-and-delete mode', async () => {
    await h.client.createSender('rad').sendMessages([{ body: 1 }, { body: 2 }]);
    const receiver = h.client.createReceiver('rad', { receiveMode: 'receiveAndDelete' });
    const got = await receiveCount(receiver, 2);
    assert.deepEqual(
      got.map((m) => m.body),
      [1, 2],
    );
    assert.equal(got[0].lockToken, undefined);
    assert.equal(h.emulator.queue('rad')?.size, 0);
    await receiver.close();
  });

  it('settles by complete, abandon (with properties), dead-letter (with reason) and defer', async () => {
    const sender = h.client.createSender('settle');
    await sender.sendMessages([
      { body: 'complete' },
      { body: 'abandon' },
      { body: 'dlq' },
      { body: 'defer' },
    ]);
    const receiver = h.client.createReceiver('settle');
    const byBody = new Map<string, ServiceBusReceivedMessage>(
      (await receiveCount(receiver, 4)).map((m) => [m.body as string, m]),
    );
    await receiver.completeMessage(byBody.get('complete')!);
    await receiver.abandonMessage(byBody.get('abandon')!, { retriedBy: 'test' });
    await receiver.deadLetterMessage(byBody.get('dlq')!, {
      deadLetterReason: 'Poison',
      deadLetterErrorDescription: 'cannot parse',
      extra: 'kept',
    });
    const deferredSeq = byBody.get('defer')!.sequenceNumber!;
    await receiver.deferMessage(byBody.get('defer')!);

    const [again] = await receiveCount(receiver, 1);
    assert.equal(again.body, 'abandon');
    assert.equal(again.deliveryCount, 1);
    assert.equal(again.applicationProperties?.retriedBy, 'test');
    await receiver.completeMessage(again);

    const dlq = h.client.createReceiver('settle', { subQueueType: 'deadLetter' });
    const [dead] = await receiveCount(dlq, 1);
    assert.equal(dead.body, 'dlq');
    assert.equal(dead.deadLetterReason, 'Poison');
    assert.equal(dead.deadLetterErrorDescription, 'cannot parse');
    assert.equal(dead.deadLetterSource, 'settle');
    assert.equal(dead.applicationProperties?.extra, 'kept');
    await dlq.completeMessage(dead);

    // A deferred message comes back only by sequence number, and settles through $management.
    assert.deepEqual(await receiver.receiveMessages(1, { maxWaitTimeInMs: 200 }), []);
    const [deferred] = await receiver.receiveDeferredMessages([deferredSeq]);
    assert.equal(deferred.body, 'defer');
    assert.ok(deferred.lockToken);
    await receiver.completeMessage(deferred);
    await assert.rejects(receiver.receiveDeferredMessages([deferredSeq]), /not found/i);
    assert.equal(h.emulator.queue('settle')?.size, 0);
    await receiver.close();
    await dlq.close();
  });

  it('honours credit and drain: a short receive returns what exists and strands nothing', async () => {
    const sender = h.client.createSender('drain');
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const receiver = h.client.createReceiver('drain', { receiveMode: 'receiveAndDelete' });
    const first = await receiver.receiveMessages(2, { maxWaitTimeInMs: 1_000 });
    assert.deepEqual(
      first.map((m) => m.body),
      [1, 2],
    );
    const second = await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 });
    assert.deepEqual(
      second.map((m) => m.body),
      [3],
    );
    // After the drain the link has no credit; a message sent now waits for the next receive.
    await sender.sendMessages({ body: 4 });
    const third = await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 });
    assert.deepEqual(
      third.map((m) => m.body),
      [4],
    );
    await receiver.close();
  });

  it('peeks every message in order without locking or removing it', async () => {
    const sender = h.client.createSender('peek');
    await sender.sendMessages([{ body: 'p1' }, { body: 'p2' }, { body: 'p3' }]);
    const receiver = h.client.createReceiver('peek');
    const peeked = await receiver.peekMessages(10);
    assert.deepEqual(
      peeked.map((m) => m.body),
      ['p1', 'p2', 'p3'],
    );
    const fromSecond = await receiver.peekMessages(1, { fromSequenceNumber: peeked[1].sequenceNumber });
    assert.deepEqual(
      fromSecond.map((m) => m.body),
      ['p2'],
    );
    const got = await receiveCount(receiver, 3);
    assert.equal(got.length, 3, 'peeking locked nothing');
    for (const m of got) await receiver.completeMessage(m);
    assert.deepEqual(
      await h.client.createReceiver('peek').peekMessages(5, { fromSequenceNumber: peeked[0].sequenceNumber }),
      [],
    );
    await receiver.close();
  });

  it('settles through $management (update-disposition) once the receiving link is gone', async () => {
    await h.client.createSender('links').sendMessages({ body: 'orphan' });
    const first = h.client.createReceiver('links');
    const [m] = await receiveCount(first, 1);
    await first.close();
    const second = h.client.createReceiver('links');
    await second.completeMessage(m);
    assert.equal(h.emulator.queue('links')?.size, 0);
    await second.close();
  });

  it('serves subscribe() with auto-complete and concurrent handlers', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => i);
    await h.client.createSender('auto').sendMessages(bodies.map((body) => ({ body })));
    const receiver = h.client.createReceiver('auto');
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      receiver.subscribe(
        {
          processMessage: async (m) => {
            seen.push(m.body as number);
            if (seen.length === bodies.length) resolve();
          },
          processError: async (args) => reject(args.error),
        },
        { maxConcurrentCalls: 8 },
      );
    });
    await receiver.close();
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      bodies,
    );
    assert.equal(h.emulator.queue('auto')?.size, 0, 'every message was completed');
  });
});
