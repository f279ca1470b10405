import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STREAM_TOKEN_TTL_MS, StreamTokens } from '../../../functions/auth/stream-tokens';

const tokens = new StreamTokens(async () => 'key-one');
const alice = { owner: 'alice', role: 'user' as const };
const taskId = '8c5e0d1a-6f0e-4c35-9a59-0b1f6c2f4e11';

describe('stream tokens', () => {
  it('carry owner, role, scope and a five-minute expiry', async () => {
    const now = Date.now();
    const issued = await tokens.issue(alice, { taskId }, now);
    assert.equal(issued.expiresAt.getTime(), now + STREAM_TOKEN_TTL_MS);
    assert.deepEqual(await tokens.verify(issued.token, now), {
      ...alice,
      scope: { taskId },
      expiresAt: issued.expiresAt,
    });
    const mine = await tokens.issue(alice, {}, now);
    assert.deepEqual((await tokens.verify(mine.token, now))?.scope, {});
  });

  it('are refused once expired, when changed, or signed with another key', async () => {
    const now = Date.now();
    const { token } = await tokens.issue(alice, { taskId }, now);
    assert.equal(await tokens.verify(token, now + STREAM_TOKEN_TTL_MS), undefined);
    const [body, signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), r: 'admin' }),
    ).toString('base64url');
    assert.equal(await tokens.verify(`${forged}.${signature}`, now), undefined);
    assert.equal(await tokens.verify(`${body}.`, now), undefined);
    assert.equal(await tokens.verify(`${token}.x`, now), undefined);
    assert.equal(await tokens.verify('garbage', now), undefined);
    assert.equal(await new StreamTokens(async () => 'key-two').verify(token, now), undefined);
  });
});
