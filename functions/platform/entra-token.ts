import type { AccessToken, TokenCredential } from '@azure/identity';

/** Azure Database for PostgreSQL and Azure Managed Redis take Entra tokens for these scopes as passwords. */
export const ENTRA_POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';
export const ENTRA_REDIS_SCOPE = 'https://redis.azure.com/.default';

/** Renew this long before a token expires (or halfway through a shorter lifetime). */
const REFRESH_LEAD_MS = 5 * 60_000;

/** Returns a current token for one scope: the cached one until it is due for refresh, then a fresh one. */
export type TokenSource = () => Promise<AccessToken>;

/** When a token should be replaced: the credential's own hint, else 5 minutes before expiry (or halfway). */
export function refreshAt(token: AccessToken, now = Date.now()): number {
  if (token.refreshAfterTimestamp) return token.refreshAfterTimestamp;
  const lifetime = token.expiresOnTimestamp - now;
  return token.expiresOnTimestamp - Math.min(REFRESH_LEAD_MS, lifetime / 2);
}

/**
 * Tokens for one scope, cached until due for refresh so that every new connection does not call the identity
 * endpoint; concurrent callers share one request.
 */
export function entraTokenSource(credential: TokenCredential, scope: string): TokenSource {
  let current: { token: Promise<AccessToken>; due: number } | undefined;
  return () => {
    if (!current || Date.now() >= current.due) {
      const entry: { token: Promise<AccessToken>; due: number } = {
        token: credential.getToken(scope).then((token) => {
          if (!token) throw new Error(`no Entra token for ${scope}`);
          entry.due = refreshAt(token);
          return token;
        }),
        due: Infinity,
      };
      // A failed request is not cached: the next caller tries again.
      entry.token.catch(() => {
        if (current === entry) current = undefined;
      });
      current = entry;
    }
    return current.token;
  };
}
