import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { receiveCount, startHarness, type Harness } from './harness';

describe('Service Bus emulator: session queues with the real SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ sessions: { RequiresSession: true, LockDuration: 'PT1S' }, plain: {} });
  });
  after(() => h.close());

  it('refuses a message without a session id, and a receiver that is not a session receiver', async () => {
    const sender = h.client.createSender('sessions');
    await assert.rejects(sender.sendMessages({ body: 'no session' }), /SessionId was not set/);
    await assert.rejects(
      sender.scheduleMessages({ body: 'no session' }, new Date(Date.now() + 60_000)),
      /SessionId/,
    );
    await assert.rejects(
      h.client.createReceiver('sessions').receiveMessages(1, { maxWaitTimeInMs: 1_000 }),
      /non-sessionful message receiver/,
    );
    assert.equal(h.emulator.queue('sessions')?.size, 0);
  });

  it('delivers a session in order to its holder only, and keeps a locked session from others', async () => {
    const sender = h.client.createSender('sessions');
    await sender.sendMessages([
      { body: 'a1', sessionId: 'a' },
      { body: 'b1', sessionId: 'b' },
      { body: 'a2', sessionId: 'a' },
      { body: 'a3', sessionId: 'a' },
    ]);
    const first = await h.client.acceptNextSession('sessions');
    assert.equal(first.sessionId, 'a');
    assert.ok(first.sessionLockedUntilUtc && first.sessionLockedUntilUtc.getTime() > Date.now());
    const got = await receiveCount(first, 3);
    assert.deepEqual(
      got.map((m) => [m.body, m.sessionId]),
      [
        ['a1', 'a'],
        ['a2', 'a'],
        ['a3', 'a'],
      ],
    );
    for (const m of got) await first.completeMessage(m);
    await assert.rejects(h.client.acceptSession('sessions', 'a'), (err: { code?: string }) => {
      assert.equal(err.code, 'SessionCannotBeLocked');
      return true;
    });
    const second = await h.client.acceptNextSession('sessions');
    assert.equal(second.sessionId, 'b');
    const [b1] = await receiveCount(second, 1);
    assert.equal(b1.body, 'b1');
    await second.completeMessage(b1);
    await assert.rejects(
      h.client.acceptNextSession('sessions', { maxAutoLockRenewalDurationInMs: 0 }),
      (err: { code?: string }) => {
        assert.equal(err.code, 'SessionCannotBeLocked');
        return true;
      },
    );
    await first.close();
    // Closing the receiver released session a.
    const again = await h.client.acceptSession('sessions', 'a');
    assert.equal(again.sessionId, 'a');
    await again.close();
    await second.close();
  });

  it('renews the session lock, lets it lapse otherwise, and keeps session state', async () => {
    const receiver = await h.client.acceptSession('sessions', 'c', { maxAutoLockRenewalDurationInMs: 0 });
    const before = receiver.sessionLockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 50));
    await receiver.renewSessionLock();
    assert.ok(receiver.sessionLockedUntilUtc!.getTime() > before);
    assert.equal(await receiver.getSessionState(), null);
    await receiver.setSessionState({ step: 2 });
    assert.deepEqual(await receiver.getSessionState(), { step: 2 });
    // Past the 1 s lock duration without renewal, the session is free for another receiver.
    const start = Date.now();
    let other;
    while (!other && Date.now() - start < 3_000) {
      other = await h.client.acceptSession('sessions', 'c').catch(() => undefined);
      if (!other) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(other, 'the lapsed session could be accepted again');
    assert.deepEqual(await other.getSessionState(), { step: 2 });
    await other.close();
    await receiver.close();
  });

  it('keeps session state across a restart with dataDir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-emulator-sessions-'));
    try {
      const queues = { s: { RequiresSession: true } };
      const first = await startHarness(queues, { dataDir });
      const receiver = await first.client.acceptSession('s', 'kept');
      await receiver.setSessionState('remembered');
      await first.client.createSender('s').sendMessages({ body: 'waiting', sessionId: 'kept' });
      await first.close();
      const second = await startHarness(queues, { dataDir });
      try {
        const again = await second.client.acceptNextSession('s');
        assert.equal(again.sessionId, 'kept');
        assert.equal(await again.getSessionState(), 'remembered');
        const [m] = await receiveCount(again, 1);
        assert.equal(m.body, 'waiting');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
