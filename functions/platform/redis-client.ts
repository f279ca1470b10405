import { Redis, type RedisOptions } from 'ioredis';
import { azureCredential } from './azure-credential';
import type { RedisSettings } from './settings';

const ENTRA_REDIS_SCOPE = 'https://redis.azure.com/.default';

/** A Redis client from REDIS_URL, or from REDIS_HOST with an Entra token when no password is set. */
export async function createRedisClient(
  settings: RedisSettings,
  clientId?: string,
  options: RedisOptions = {},
): Promise<Redis> {
  if (settings.kind === 'url') return new Redis(settings.url, options);
  let password = settings.password;
  if (!password) {
    const token = await azureCredential(clientId).getToken(ENTRA_REDIS_SCOPE);
    if (!token) throw new Error('no Entra token for Redis');
    password = token.token;
  }
  return new Redis({
    ...options,
    host: settings.host,
    port: settings.port,
    username: settings.username,
    password,
    tls: { servername: settings.host },
  });
}
