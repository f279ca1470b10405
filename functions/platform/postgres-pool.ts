import { Pool, types, type CustomTypesConfig, type PoolConfig } from 'pg';
import { azureCredential } from './azure-credential';
import { ENTRA_POSTGRES_SCOPE, entraTokenSource, type TokenSource } from './entra-token';
import type { PostgresSettings } from './settings';

/**
 * The password callback pg calls for every new connection. Azure Database for PostgreSQL checks the token only at
 * login, so open connections outlive it; each new one gets a current token.
 */
export function entraPassword(tokens: TokenSource): () => Promise<string> {
  return async () => (await tokens()).token;
}

const INT8_OID = 20;

/**
 * bigint (int8) columns as numbers rather than pg's default strings: an event's `seq` is one, and grows by 1,000,000
 * at each lease takeover. Exact up to 2^53; a value past that throws rather than rounding.
 */
export const int8AsNumber: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`bigint ${text} is past what a number holds exactly`);
  return value;
}

/** A pool from DATABASE_URL, or from PG* settings with an Entra token as the password when none is set. */
export function createPostgresPool(
  settings: PostgresSettings,
  clientId?: string,
  options: Partial<PoolConfig> = {},
): Pool {
  const base: PoolConfig = {
    max: 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    types: int8AsNumber,
    ...options,
  };
  if (settings.kind === 'url') return new Pool({ ...base, connectionString: settings.url });
  return new Pool({
    ...base,
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    ssl: settings.ssl ? { rejectUnauthorized: true } : false,
    password:
      settings.password ?? entraPassword(entraTokenSource(azureCredential(clientId), ENTRA_POSTGRES_SCOPE)),
  });
}
