import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretSetting } from '../../../functions/platform/secret-reference';

// Key Vault cannot run on this machine: the reader below stands in for it (the one mock in these tests).
function fakeVault(secrets: Record<string, string>) {
  const reads: string[] = [];
  const reader = async (name: string) => {
    reads.push(name);
    const value = secrets[name];
    if (value === undefined) throw new Error(`SecretNotFound: ${name}`);
    return value;
  };
  return { reader, reads };
}

describe('secret settings', () => {
  it('a plain value is used as it is, without reading Key Vault', async () => {
    const vault = fakeVault({});
    assert.equal(await secretSetting('S', 'plain', vault.reader)(), 'plain');
    assert.equal(await secretSetting('S', undefined, vault.reader)(), undefined);
    assert.deepEqual(vault.reads, []);
  });

  it('an @kv: reference is read from Key Vault once per process', async () => {
    const vault = fakeVault({ 'webhook-key': 'from-the-vault' });
    const secret = secretSetting('S', '@kv:webhook-key', vault.reader);
    assert.equal(await secret(), 'from-the-vault');
    assert.equal(await secret(), 'from-the-vault');
    assert.deepEqual(vault.reads, ['webhook-key']);
  });

  it('a failed read is retried on next use; a malformed reference or a missing vault is a clear error', async () => {
    const secrets: Record<string, string> = {};
    const vault = fakeVault(secrets);
    const secret = secretSetting('S', '@kv:later', vault.reader);
    await assert.rejects(secret(), /SecretNotFound/);
    secrets.later = 'now-there';
    assert.equal(await secret(), 'now-there');
    await assert.rejects(
      secretSetting('S', '@kv:bad name!', vault.reader)(),
      /Setting S: "@kv:" must be followed/,
    );
    await assert.rejects(
      secretSetting('S', '@kv:name', undefined)(),
      /Setting S: an @kv: reference needs KEY_VAULT_URL/,
    );
  });
});
