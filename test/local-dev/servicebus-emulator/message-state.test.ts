import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { receiveCount, startHarness, type Harness } from './harness';

describe('Service Bus emulator: message state and the dead-letter queue as operators use them', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ states: {}, dlq: {} });
  });
  after(() => h.close());

  it('marks peeked messages active, scheduled or deferred (x-opt-message-state), as Azure does', async () => {
    const sender = h.client.createSender('states');
    await sender.sendMessages([{ body: 'active' }, { body: 'to-defer' }]);
    await sender.scheduleMessages({ body: 'scheduled' }, new Date(Date.now() + 60_000));
    const receiver = h.client.createReceiver('states');
    const [, toDefer] = await receiveCount(receiver, 2);
    await receiver.deferMessage(toDefer);
    const peeked = await h.client.createReceiver('states').peekMessages(10);
    assert.deepEqual(
      peeked.map((m) => [m.body, m.state]),
      [
        ['active', 'active'],
        ['to-defer', 'deferred'],
        ['scheduled', 'scheduled'],
      ],
    );
    await receiver.close();
  });

  it('lets a dead-letter receiver complete one message and abandon the others back into the DLQ', async () => {
    const receiver = h.client.createReceiver('dlq');
    await h.client.createSender('dlq').sendMessages([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    for (const m of await receiveCount(receiver, 3))
      await receiver.deadLetterMessage(m, {
        deadLetterReason: 'test',
        deadLetterErrorDescription: 'by the test',
      });
    const dlq = h.client.createReceiver('dlq', { subQueueType: 'deadLetter' });
    const held = await receiveCount(dlq, 3);
    assert.deepEqual(
      held.map((m) => m.body),
      ['a', 'b', 'c'],
    );
    await dlq.completeMessage(held[1]);
    await dlq.abandonMessage(held[0]);
    await dlq.abandonMessage(held[2]);
    const left = await h.client.createReceiver('dlq', { subQueueType: 'deadLetter' }).peekMessages(10);
    assert.deepEqual(
      left.map((m) => [m.body, m.deadLetterReason]),
      [
        ['a', 'test'],
        ['c', 'test'],
      ],
    );
    await receiver.close();
    await dlq.close();
  });
});
