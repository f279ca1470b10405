import { SecretClient } from '@azure/keyvault-secrets';
import { azureCredential } from './azure-credential';

const KEY_VAULT_REFERENCE = /^@kv:([0-9A-Za-z-]{1,127})$/;

/** Reads one secret by name (Key Vault in Azure; tests give their own, since Key Vault cannot run here). */
export type SecretReader = (name: string) => Promise<string>;

export function keyVaultSecretReader(vaultUrl: string, clientId?: string): SecretReader {
  const client = new SecretClient(vaultUrl, azureCredential(clientId));
  return async (name) => {
    const secret = await client.getSecret(name);
    if (!secret.value) throw new Error(`Key Vault secret ${name} has no value`);
    return secret.value;
  };
}

/**
 * A setting that may hold a secret or an `@kv:<name>` reference to one. The reference is read once per process, on
 * first use, and the value stays in memory only: never in settings files or logs.
 */
export function secretSetting(
  setting: string,
  value: string | undefined,
  reader: SecretReader | undefined,
): () => Promise<string | undefined> {
  let resolved: Promise<string | undefined> | undefined;
  return () => {
    resolved ??= resolve().catch((err: unknown) => {
      resolved = undefined;
      throw err;
    });
    return resolved;
  };

  async function resolve(): Promise<string | undefined> {
    if (!value?.startsWith('@kv:')) return value;
    const name = KEY_VAULT_REFERENCE.exec(value)?.[1];
    if (!name) throw new Error(`Setting ${setting}: "@kv:" must be followed by a Key Vault secret name`);
    if (!reader) throw new Error(`Setting ${setting}: an @kv: reference needs KEY_VAULT_URL`);
    return reader(name);
  }
}
