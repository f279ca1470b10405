import { Client, escapeIdentifier, type ClientConfig } from 'pg';
import { azureCredential } from '../../functions/platform/azure-credential';
import { ENTRA_POSTGRES_SCOPE, entraTokenSource } from '../../functions/platform/entra-token';
import { entraPassword } from '../../functions/platform/postgres-pool';
import { runMigrations } from '../../functions/storage/migrate';

/** The azd environment values (Bicep outputs) this hook reads. */
const REQUIRED = [
  'SERVICE_API_URI',
  'AUTH_MODE',
  'POSTGRES_HOST',
  'POSTGRES_DATABASE',
  'POSTGRES_ADMIN_NAME',
  'AZURE_IDENTITY_NAME',
  'AZURE_IDENTITY_PRINCIPAL_ID',
] as const;
type HookEnv = Record<(typeof REQUIRED)[number], string>;

/**
 * What the app's identity may do in the app database: read and write rows (DML), nothing else — no DDL, and not the
 * migrations' own bookkeeping. Default privileges cover tables that later migrations create.
 */
export function appRoleGrants(role: string, database: string): string[] {
  const r = escapeIdentifier(role);
  return [
    `GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${r}`,
    `REVOKE ALL ON TABLE pgmigrations FROM ${r}`,
  ];
}

async function withClient(config: ClientConfig, work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client(config);
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** Migrates as the deploying principal (the Entra admin) and makes the app's identity a database role. */
async function prepareDatabase(env: HookEnv, log: (line: string) => void): Promise<void> {
  const config: ClientConfig = {
    host: env.POSTGRES_HOST,
    // Port 5432, not PgBouncer's 6432: migrations hold a session advisory lock, which transaction pooling drops.
    port: 5432,
    user: env.POSTGRES_ADMIN_NAME,
    database: env.POSTGRES_DATABASE,
    ssl: { rejectUnauthorized: true },
    // Whoever ran `azd up` (az login / azd auth login): DefaultAzureCredential finds the developer CLIs.
    password: entraPassword(entraTokenSource(azureCredential(), ENTRA_POSTGRES_SCOPE)),
  };
  const applied = await runMigrations(config, log);
  log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database is up to date');
  // Entra principals are created from the `postgres` database with the identity's object id.
  await withClient({ ...config, database: 'postgres' }, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
      env.AZURE_IDENTITY_NAME,
    ]);
    if (!rowCount) {
      await client.query(
        `SELECT * FROM pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)`,
        [env.AZURE_IDENTITY_NAME, env.AZURE_IDENTITY_PRINCIPAL_ID],
      );
    }
  });
  await withClient(config, async (client) => {
    for (const statement of appRoleGrants(env.AZURE_IDENTITY_NAME, env.POSTGRES_DATABASE)) {
      await client.query(statement);
    }
  });
  log(`database role ${env.AZURE_IDENTITY_NAME}: rows of ${env.POSTGRES_DATABASE} (no DDL)`);
}

/** Where to go next: the URLs and how callers get in under the chosen AUTH_MODE. */
export function nextSteps(env: Pick<HookEnv, 'SERVICE_API_URI' | 'AUTH_MODE'>): string[] {
  const base = env.SERVICE_API_URI.replace(/\/$/, '');
  const access =
    env.AUTH_MODE === 'entra'
      ? 'AUTH_MODE=entra: callers send a Microsoft Entra ID access token (Authorization: Bearer ...).'
      : 'AUTH_MODE=apikey: callers send an API key; see docs/deploy.md, "The first API key", to create one.';
  return [
    'Longhaul is up:',
    `  API  ${base}/api/tasks   (OpenAPI: ${base}/api/openapi.json, Swagger UI: ${base}/api/docs)`,
    `  UI   ${base}/`,
    `  ${access}`,
    `  Try: curl -i ${base}/api/health/ready`,
  ];
}

async function main(): Promise<void> {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length)
    throw new Error(`azd environment lacks ${missing.join(', ')}: run \`azd provision\` first`);
  const env = Object.fromEntries(REQUIRED.map((name) => [name, process.env[name]!])) as HookEnv;
  if (!process.argv.includes('--urls-only')) await prepareDatabase(env, (line) => console.log(line));
  for (const line of nextSteps(env)) console.log(line);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
