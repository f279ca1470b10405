import { Pool, type PoolConfig } from 'pg';
import { azureCredential } from './azure-credential';
import type { PostgresSettings } from './settings';

const ENTRA_POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** A pool from DATABASE_URL, or from PG* settings with an Entra token as the password when none is set. */
export function createPostgresPool(
  settings: PostgresSettings,
  clientId?: string,
  options: Partial<PoolConfig> = {},
): Pool {
  const base: PoolConfig = { max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000, ...options };
  if (settings.kind === 'url') return new Pool({ ...base, connectionString: settings.url });
  const credential = azureCredential(clientId);
  return new Pool({
    ...base,
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    ssl: settings.ssl ? { rejectUnauthorized: true } : false,
    password:
      settings.password ??
      (async () => {
        const token = await credential.getToken(ENTRA_POSTGRES_SCOPE);
        if (!token) throw new Error('no Entra token for PostgreSQL');
        return token.token;
      }),
  });
}
