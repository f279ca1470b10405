import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runMigrations } from '../../functions/storage/migrate';
import { keysCommand } from '../../local-dev/keys-cli';
import { dropDatabase, ensureDatabase } from '../../local-dev/services/postgres';
import { TEST_POSTGRES_URL } from '../support/test-servers';

async function keys(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await keysCommand(argv, env, (line) => lines.push(line));
  return { code, lines };
}

describe('npm run keys', () => {
  const database = `longhaul_keys_${process.pid}_${Date.now()}`;
  const databaseUrl = TEST_POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`);
  before(async () => {
    await ensureDatabase(TEST_POSTGRES_URL, database);
    await runMigrations(databaseUrl);
  });
  after(() => dropDatabase(TEST_POSTGRES_URL, database));

  it('needs only DATABASE_URL and API_KEY_PEPPER: no Service Bus or storage settings', async () => {
    const env = { DATABASE_URL: databaseUrl, API_KEY_PEPPER: 'test-pepper-not-a-secret' };
    const created = await keys(env, 'create', '--owner', 'alice');
    assert.equal(created.code, 0, created.lines.join('\n'));
    assert.match(created.lines[1], /^lh_/);
    const listed = await keys(env, 'list');
    assert.match(listed.lines.join('\n'), /alice {2}user/);
  });

  it('names the setting it misses', async () => {
    await assert.rejects(
      keys({ DATABASE_URL: databaseUrl }, 'list'),
      /^SettingsError: Setting API_KEY_PEPPER: required/,
    );
    await assert.rejects(
      keys({ API_KEY_PEPPER: 'p' }, 'list'),
      /^SettingsError: Setting DATABASE_URL: required/,
    );
  });
});
