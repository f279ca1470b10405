import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhookSignature } from '../../../functions/webhooks/webhook-signature';

describe('webhook signatures', () => {
  const secret = 'a-test-key-that-is-not-a-real-secret';
  const body = '{"id":"1","status":"succeeded"}';
  const t = 1_800_000_000;
  const nowMs = t * 1000;

  it('a signature verifies for the same body, key and a timestamp within the tolerance', () => {
    const header = signWebhook(secret, body, t);
    assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(secret, body, header, { nowMs }), true);
    assert.equal(verifyWebhookSignature(secret, body, header, { nowMs: nowMs + 299_000 }), true);
  });

  it('a changed body, another key, an old timestamp or a malformed header do not verify', () => {
    const header = signWebhook(secret, body, t);
    assert.equal(
      verifyWebhookSignature(secret, body.replace('succeeded', 'failed'), header, { nowMs }),
      false,
    );
    assert.equal(verifyWebhookSignature('another-key', body, header, { nowMs }), false);
    assert.equal(verifyWebhookSignature(secret, body, header, { nowMs: nowMs + 301_000 }), false);
    assert.equal(
      verifyWebhookSignature(secret, body, header.replace('t=1800000000', 't=1800000001'), { nowMs }),
      false,
    );
    for (const bad of [undefined, null, '', 'v1=abc', 't=x,v1=y', `t=${t}`]) {
      assert.equal(verifyWebhookSignature(secret, body, bad, { nowMs }), false, String(bad));
    }
  });
});
