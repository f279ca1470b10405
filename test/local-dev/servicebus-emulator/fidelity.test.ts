import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { receiveCount, startHarness, type Harness } from './harness';

const isSizeExceeded = (err: { code?: string }) => {
  assert.equal(err.code, 'MessageSizeExceeded');
  return true;
};

describe('Service Bus emulator: fidelity to Azure in counts, limits and error text', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ work: {}, limits: {} });
  });
  after(() => h.close());

  it('does not count an explicit dead-letter as a delivery (an abandon does)', async () => {
    await h.client.createSender('work').sendMessages({ body: 'dl' });
    const receiver = h.client.createReceiver('work');
    const [first] = await receiveCount(receiver, 1);
    assert.equal(first.deliveryCount, 0);
    await receiver.abandonMessage(first);
    const [second] = await receiveCount(receiver, 1);
    assert.equal(second.deliveryCount, 1);
    await receiver.deadLetterMessage(second);
    const [dead] = await receiveCount(h.client.createReceiver('work', { subQueueType: 'deadLetter' }), 1);
    assert.equal(dead.deliveryCount, 1);
    await receiver.close();
  });

  it('applies the 256 KB Standard limit to scheduled messages too, by both ways of scheduling', async () => {
    const sender = h.client.createSender('limits');
    const big = { body: 'x'.repeat(260 * 1024) };
    await assert.rejects(sender.scheduleMessages(big, new Date(Date.now() + 60_000)), isSizeExceeded);
    await assert.rejects(
      sender.sendMessages({ ...big, scheduledEnqueueTimeUtc: new Date(Date.now() + 60_000) }),
      isSizeExceeded,
    );
    assert.equal(h.emulator.queue('limits')?.size, 0);
  });

  it('refuses a property over 32 KB and properties over 64 KB in all, on sends and schedules', async () => {
    const sender = h.client.createSender('limits');
    const oneBig = { body: 'b', applicationProperties: { big: 'p'.repeat(33 * 1024) } };
    await assert.rejects(sender.sendMessages(oneBig), isSizeExceeded);
    await assert.rejects(sender.scheduleMessages(oneBig, new Date(Date.now() + 60_000)), isSizeExceeded);
    const manyProps = {
      body: 'b',
      applicationProperties: { a: 'p'.repeat(30 * 1024), b: 'p'.repeat(30 * 1024), c: 'p'.repeat(30 * 1024) },
    };
    await assert.rejects(sender.sendMessages(manyProps), isSizeExceeded);
    await assert.rejects(sender.sendMessages([{ body: 'ok' }, manyProps]), isSizeExceeded);
    assert.equal(h.emulator.queue('limits')?.size, 0);
    await sender.sendMessages({ body: 'b', applicationProperties: { fine: 'p'.repeat(30 * 1024) } });
    assert.equal(h.emulator.queue('limits')?.size, 1);
  });

  it("names a missing entity with Azure's sb://host/entity text", async () => {
    await assert.rejects(h.client.createSender('missing').sendMessages({ body: 1 }), (err: Error) => {
      assert.match(
        err.message,
        /^The messaging entity 'sb:\/\/127\.0\.0\.1\/missing' could not be found\. To know more visit https:\/\/aka\.ms\/sbResourceMgrExceptions\. {2}TrackingId:/,
      );
      return true;
    });
  });
});

describe('Service Bus emulator: Premium tier limits', () => {
  it('accepts a message over 256 KB when the tier is Premium', async () => {
    const h = await startHarness({ big: {} }, { tier: 'Premium' });
    try {
      await h.client.createSender('big').sendMessages({ body: 'x'.repeat(1024 * 1024) });
      const [m] = await receiveCount(h.client.createReceiver('big', { receiveMode: 'receiveAndDelete' }), 1);
      assert.equal((m.body as string).length, 1024 * 1024);
    } finally {
      await h.close();
    }
  });
});
