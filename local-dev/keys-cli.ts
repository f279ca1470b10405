import { parseArgs } from 'node:util';
import { ApiKeyStore, type Role } from '../functions/auth/api-keys';
import { createPostgresPool } from '../functions/platform/postgres-pool';
import { keyVaultSecretReader, secretSetting } from '../functions/platform/secret-reference';
import { SettingsError } from '../functions/platform/settings';
import { readLocalSettings } from './local-settings';
import { findRepoRoot } from './services/repo-root';

const USAGE = `usage: npm run keys -- create --owner <owner> [--role user|admin] [--name <name>]
       npm run keys -- list
       npm run keys -- revoke <id>`;

/**
 * The settings `npm run keys` uses, and only those: it runs from a terminal where the app's others (Service Bus,
 * storage) are not set. KEY_VAULT_URL and AZURE_CLIENT_ID matter only for an `@kv:` pepper.
 */
function keysSettings(env: Record<string, string | undefined>) {
  const value = (name: string) => env[name]?.trim() || undefined;
  const databaseUrl = value('DATABASE_URL');
  if (!databaseUrl) throw new SettingsError('Setting DATABASE_URL: required by npm run keys');
  const pepper = value('API_KEY_PEPPER');
  if (!pepper)
    throw new SettingsError('Setting API_KEY_PEPPER: required by npm run keys (the key hashes use it)');
  return {
    databaseUrl,
    pepper,
    keyVaultUrl: value('KEY_VAULT_URL'),
    azureClientId: value('AZURE_CLIENT_ID'),
  };
}

/**
 * `npm run keys`: creates, lists and revokes API keys in the database the settings name (the environment, over
 * local.settings.json). A new key is printed once; only its hash is stored.
 */
export async function keysCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      owner: { type: 'string' },
      role: { type: 'string', default: 'user' },
      name: { type: 'string' },
    },
  });
  const [command, id] = positionals;
  const role = values.role as Role;
  const valid =
    (command === 'create' && values.owner && ['user', 'admin'].includes(role)) ||
    command === 'list' ||
    (command === 'revoke' && id);
  if (!valid) {
    print(USAGE);
    return 2;
  }
  const settings = keysSettings(env);
  const pool = createPostgresPool({ kind: 'url', url: settings.databaseUrl }, settings.azureClientId, {
    max: 1,
  });
  const reader = settings.keyVaultUrl
    ? keyVaultSecretReader(settings.keyVaultUrl, settings.azureClientId)
    : undefined;
  const keys = new ApiKeyStore(pool, secretSetting('API_KEY_PEPPER', settings.pepper, reader));
  try {
    if (command === 'create') {
      const { key, info } = await keys.create({ owner: values.owner as string, role, name: values.name });
      print(`created key ${info.id} for ${info.owner} (${info.role}); it is shown only now:`);
      print(key);
    } else if (command === 'list') {
      for (const k of await keys.list()) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        const used = k.lastUsedAt ? k.lastUsedAt.toISOString() : 'never';
        print(`${k.id}  ${k.prefix}…  ${k.owner}  ${k.role}  ${k.name ?? '-'}  last used ${used}  ${state}`);
      }
    } else if (!(await keys.revoke(id))) {
      print(`no active key ${id}`);
      return 1;
    } else {
      print(`revoked ${id}`);
    }
    return 0;
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  keysCommand(process.argv.slice(2), { ...readLocalSettings(findRepoRoot()), ...process.env }, (line) =>
    console.log(line),
  )
    .then((code) => process.exit(code))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
