import type { ApiKeyStore, KeyHolder, Role } from './api-keys';
import type { EntraTokens } from './entra-tokens';
import type { StreamScope, StreamTokens } from './stream-tokens';
import type { Settings } from '../platform/settings';

export interface Caller {
  id: string;
  role: Role;
}

/** What authenticates callers; built once per process (app-services). */
export interface Authenticators {
  apiKeys: ApiKeyStore;
  streamTokens: StreamTokens;
  /** With AUTH_MODE=entra only. */
  entraTokens?: EntraTokens;
}

/** What a request presents, as plain values (the HTTP layer reads them from its headers and query). */
export interface Presented {
  /** The Authorization header. */
  authorization?: string;
  /** The X-Api-Key header. */
  apiKey?: string;
  /**
   * A `?token=` stream token and the stream the request opens: on the two SSE URLs only (and nowhere else), since
   * browsers' EventSource cannot send an Authorization header.
   */
  streamToken?: { token: string; scope: StreamScope };
}

/** With AUTH_MODE=none every request is this caller; it sees every task, as there is no one else. */
const LOCAL: Caller = { id: 'local', role: 'admin' };

/** Who is calling, by the configured mode: the one place where a mode authenticates a request. */
export async function authenticate(
  presented: Presented,
  mode: Settings['authMode'],
  auth: Authenticators,
): Promise<Caller | undefined> {
  switch (mode) {
    case 'none':
      return LOCAL;
    case 'apikey':
      return credentialOrStreamToken(
        presented,
        bearer(presented.authorization) ?? presented.apiKey,
        (key) => auth.apiKeys.authenticate(key),
        auth.streamTokens,
      );
    case 'entra': {
      const { entraTokens } = auth;
      if (!entraTokens) throw new Error('AUTH_MODE=entra: no Entra ID token validator was built');
      return credentialOrStreamToken(
        presented,
        bearer(presented.authorization),
        (token) => entraTokens.verify(token),
        auth.streamTokens,
      );
    }
  }
}

/**
 * The caller of the credential the request presents, if any; else of a stream token made for the stream the request
 * opens.
 */
async function credentialOrStreamToken(
  { streamToken }: Presented,
  credential: string | undefined,
  verify: (credential: string) => Promise<KeyHolder | undefined>,
  streamTokens: StreamTokens,
): Promise<Caller | undefined> {
  if (credential !== undefined) {
    const holder = await verify(credential);
    return holder && { id: holder.owner, role: holder.role };
  }
  if (!streamToken) return undefined;
  const grant = await streamTokens.verify(streamToken.token);
  if (!grant || grant.scope.taskId !== streamToken.scope.taskId) return undefined;
  return { id: grant.owner, role: grant.role };
}

/** The credential of `Authorization: Bearer <credential>`; an empty string when the header is malformed. */
function bearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  return /^Bearer +(\S+) *$/i.exec(authorization)?.[1] ?? '';
}

/** The owner whose tasks a caller may see and act on; undefined (every owner) for admins. */
export function visibleOwner(caller: Caller): string | undefined {
  return caller.role === 'admin' ? undefined : caller.id;
}
