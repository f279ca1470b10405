import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKeyStore, KeyHolder } from '../../../functions/auth/api-keys';
import { authenticate, type Authenticators } from '../../../functions/auth/caller';
import type { EntraTokens } from '../../../functions/auth/entra-tokens';
import { StreamTokens } from '../../../functions/auth/stream-tokens';

const ALICE: KeyHolder = { owner: 'alice', role: 'user' };
/** Verifiers that know one credential each: `key-a` (API key) and `jwt-a` (Entra token), both alice's. */
const knowing = (credential: string) => async (presented: string) =>
  presented === credential ? ALICE : undefined;
const streamTokens = new StreamTokens(async () => 'a-stream-token-secret-of-enough-length');
const auth: Authenticators = {
  apiKeys: { authenticate: knowing('key-a') } as unknown as ApiKeyStore,
  entraTokens: { verify: knowing('jwt-a') } as unknown as EntraTokens,
  streamTokens,
};
const alice = { id: 'alice', role: 'user' };

describe('authenticate: who is calling, from the values a request presents', () => {
  it('AUTH_MODE=none: everyone is the local admin', async () => {
    assert.deepEqual(await authenticate({}, 'none', auth), { id: 'local', role: 'admin' });
  });

  it('AUTH_MODE=apikey: Bearer or X-Api-Key; a malformed Authorization does not fall back to X-Api-Key', async () => {
    assert.deepEqual(await authenticate({ authorization: 'bearer  key-a ' }, 'apikey', auth), alice);
    assert.deepEqual(await authenticate({ apiKey: 'key-a' }, 'apikey', auth), alice);
    assert.equal(await authenticate({ authorization: 'Bearer key-b' }, 'apikey', auth), undefined);
    assert.equal(
      await authenticate({ authorization: 'Basic key-a', apiKey: 'key-a' }, 'apikey', auth),
      undefined,
    );
    assert.equal(await authenticate({}, 'apikey', auth), undefined);
  });

  it('AUTH_MODE=entra: Bearer tokens only, never X-Api-Key', async () => {
    assert.deepEqual(await authenticate({ authorization: 'Bearer jwt-a' }, 'entra', auth), alice);
    assert.equal(await authenticate({ apiKey: 'jwt-a' }, 'entra', auth), undefined);
    await assert.rejects(
      authenticate({}, 'entra', { ...auth, entraTokens: undefined }),
      /no Entra ID token validator/,
    );
  });

  it('a stream token authenticates only for the stream it was made for, and never over a credential', async () => {
    const { token } = await streamTokens.issue(ALICE, { taskId: 't1' });
    for (const mode of ['apikey', 'entra'] as const) {
      assert.deepEqual(
        await authenticate({ streamToken: { token, scope: { taskId: 't1' } } }, mode, auth),
        alice,
      );
      assert.equal(
        await authenticate({ streamToken: { token, scope: { taskId: 't2' } } }, mode, auth),
        undefined,
      );
      assert.equal(await authenticate({ streamToken: { token, scope: {} } }, mode, auth), undefined);
      assert.equal(
        await authenticate(
          { authorization: 'Bearer wrong', streamToken: { token, scope: { taskId: 't1' } } },
          mode,
          auth,
        ),
        undefined,
      );
    }
  });
});
