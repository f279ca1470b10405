import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, escapeIdentifier } from 'pg';
import { appRoleGrants, nextSteps } from '../../infra/hooks/postprovision';
import { runMigrations } from '../../functions/storage/migrate';
import { dropDatabase, ensureDatabase } from '../../local-dev/services/postgres';
import { TEST_POSTGRES_URL } from '../support/test-servers';

// In Azure the role is an Entra principal made by pgaadauth_create_principal_with_oid, which exists only there; a
// plain role stands in for it, and the grants under test are the same statements the hook runs.
describe('postprovision hook: the app identity’s database role', () => {
  const suffix = randomBytes(4).toString('hex');
  const database = `longhaul_test_grants_${suffix}`;
  const role = `id-api-${suffix}`;
  const url = TEST_POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`);
  let client: Client;

  before(async () => {
    await ensureDatabase(TEST_POSTGRES_URL, database);
    await runMigrations(url);
    client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE ROLE ${escapeIdentifier(role)} NOLOGIN`);
    for (const statement of appRoleGrants(role, database)) await client.query(statement);
  });

  after(async () => {
    await client?.end();
    await dropDatabase(TEST_POSTGRES_URL, database);
    const admin = new Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    await admin.end();
  });

  const asApp = async <T>(work: () => Promise<T>): Promise<T> => {
    await client.query(`SET ROLE ${escapeIdentifier(role)}`);
    try {
      return await work();
    } finally {
      await client.query('RESET ROLE');
    }
  };

  it('reads and writes the rows of every table the migrations made', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pgmigrations'`,
    );
    assert.ok(rows.length >= 3);
    await asApp(async () => {
      for (const { table_name } of rows)
        await client.query(`SELECT count(*) FROM ${escapeIdentifier(table_name)}`);
      await client.query('DELETE FROM task_events WHERE false');
    });
  });

  it('cannot change the schema or the migrations’ bookkeeping', async () => {
    await asApp(async () => {
      await assert.rejects(client.query('CREATE TABLE intruder (id int)'), /permission denied/);
      await assert.rejects(client.query('SELECT * FROM pgmigrations'), /permission denied/);
      await assert.rejects(client.query('DROP TABLE task_events'), /must be owner/);
    });
  });

  it('tables of later migrations are covered by the default privileges', async () => {
    await client.query('CREATE TABLE later_migration (id int)');
    await asApp(() => client.query('INSERT INTO later_migration VALUES (1)'));
  });

  it('prints the API, docs and UI URLs and how callers get in', () => {
    const lines = nextSteps({
      SERVICE_API_URI: 'https://func-api-x.azurewebsites.net',
      AUTH_MODE: 'apikey',
    }).join('\n');
    assert.match(lines, /https:\/\/func-api-x\.azurewebsites\.net\/api\/tasks/);
    assert.match(lines, /https:\/\/func-api-x\.azurewebsites\.net\/api\/docs/);
    assert.match(lines, /UI {3}https:\/\/func-api-x\.azurewebsites\.net\//);
    assert.match(lines, /API key/);
    assert.match(
      nextSteps({ SERVICE_API_URI: 'https://h/', AUTH_MODE: 'entra' }).join('\n'),
      /Entra ID access token/,
    );
  });
});
