import { Redis, type RedisOptions } from 'ioredis';
import { azureCredential } from './azure-credential';
import { ENTRA_REDIS_SCOPE, entraTokenSource, refreshAt, type TokenSource } from './entra-token';
import type { RedisSettings } from './settings';

/** Never renew sooner than this after the last try, so a clock quirk or an outage cannot spin. */
const MIN_RENEW_DELAY_MS = 1_000;
/** After a failed token request, try again this soon (the current token is usually still good for minutes). */
const RETRY_DELAY_MS = 10_000;

/** A Redis client from REDIS_URL, or from REDIS_HOST with an Entra token when no password is set. */
export async function createRedisClient(
  settings: RedisSettings,
  clientId?: string,
  options: RedisOptions = {},
): Promise<Redis> {
  if (settings.kind === 'url') return new Redis(settings.url, options);
  const connection: RedisOptions = {
    ...options,
    host: settings.host,
    port: settings.port,
    username: settings.username,
    tls: { servername: settings.host },
  };
  if (settings.password) return new Redis({ ...connection, password: settings.password });
  return createEntraRedisClient(connection, entraTokenSource(azureCredential(clientId), ENTRA_REDIS_SCOPE));
}

/**
 * A client that signs in with Entra tokens and renews the sign-in on its open connection before each token expires,
 * since Azure Managed Redis closes a connection whose token has expired. Reconnects use the newest token.
 */
export async function createEntraRedisClient(options: RedisOptions, tokens: TokenSource): Promise<Redis> {
  let token = await tokens();
  const client = new Redis({ ...options, password: token.token });
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number) => {
    timer = setTimeout(() => void renew(), Math.max(delayMs, MIN_RENEW_DELAY_MS));
    timer.unref();
  };

  async function renew(): Promise<void> {
    try {
      const next = await tokens();
      if (next.token !== token.token) {
        token = next;
        client.options.password = token.token;
        if (client.status === 'ready') await reauthenticate(client, token.token);
      }
      schedule(refreshAt(token) - Date.now());
    } catch {
      schedule(RETRY_DELAY_MS);
    }
  }

  schedule(refreshAt(token) - Date.now());
  client.once('end', () => clearTimeout(timer));
  return client;
}

/**
 * AUTH with the new token on the live connection. Over RESP2 a subscribed connection refuses AUTH, so then the
 * connection is reopened instead: it signs in with the new token and ioredis re-subscribes its channels.
 */
async function reauthenticate(client: Redis, password: string): Promise<void> {
  const username = client.options.username;
  try {
    await (username ? client.auth(username, password) : client.auth(password));
  } catch {
    client.disconnect(true);
  }
}
