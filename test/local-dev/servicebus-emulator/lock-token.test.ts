import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deliveryTagToLockToken,
  lockTokenToDeliveryTag,
  newLockToken,
} from '../../../local-dev/servicebus-emulator/lock-token';

describe('lock tokens', () => {
  it('puts the first three GUID groups little-endian in the delivery tag, as .NET does', () => {
    const tag = lockTokenToDeliveryTag('00112233-4455-6677-8899-aabbccddeeff');
    assert.equal(tag.toString('hex'), '33221100554477668899aabbccddeeff');
  });

  it('maps a delivery tag back to the lock token it was made from', () => {
    for (let i = 0; i < 20; i++) {
      const token = newLockToken();
      assert.equal(deliveryTagToLockToken(lockTokenToDeliveryTag(token)), token);
    }
  });

  it('treats a tag that is not 16 bytes as no lock token', () => {
    assert.equal(deliveryTagToLockToken(Buffer.from('0')), undefined);
    assert.equal(deliveryTagToLockToken(undefined), undefined);
  });
});
