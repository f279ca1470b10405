import type { HttpRequest } from '@azure/functions';
import type { ApiKeyStore, Role } from '../auth/api-keys';
import type { StreamScope, StreamTokens } from '../auth/stream-tokens';
import type { Settings } from '../platform/settings';

export interface Caller {
  id: string;
  role: Role;
}

/** What authenticates callers; built once per process (app-services). */
export interface Authenticators {
  apiKeys: ApiKeyStore;
  streamTokens: StreamTokens;
}

/**
 * The stream a request opens, on the two SSE URLs only: there (and nowhere else) a `?token=` stream token is accepted,
 * since browsers' EventSource cannot send an Authorization header.
 */
export type StreamScopeOf = (request: HttpRequest) => StreamScope | undefined;

/** With AUTH_MODE=none every request is this caller; it sees every task, as there is no one else. */
const LOCAL: Caller = { id: 'local', role: 'admin' };

/** Who is calling, by the configured mode: the one place where a mode authenticates a request. */
export async function authenticate(
  request: HttpRequest,
  settings: Settings,
  auth: Authenticators,
  streamScopeOf?: StreamScopeOf,
): Promise<Caller | undefined> {
  switch (settings.authMode) {
    case 'none':
      return LOCAL;
    case 'apikey': {
      const key = presentedKey(request);
      if (key !== undefined) {
        const holder = await auth.apiKeys.authenticate(key);
        return holder && { id: holder.owner, role: holder.role };
      }
      const token = request.query.get('token');
      const scope = streamScopeOf?.(request);
      if (!token || !scope) return undefined;
      const grant = await auth.streamTokens.verify(token);
      if (!grant || grant.scope.taskId !== scope.taskId) return undefined;
      return { id: grant.owner, role: grant.role };
    }
    case 'entra':
      // Entra ID access tokens are validated by later work; until then this mode admits nobody.
      return undefined;
  }
}

/** The key from `Authorization: Bearer <key>` or `X-Api-Key: <key>`; an empty string when a header is malformed. */
function presentedKey(request: HttpRequest): string | undefined {
  const authorization = request.headers.get('authorization');
  if (authorization !== null) return /^Bearer +(\S+) *$/i.exec(authorization)?.[1] ?? '';
  return request.headers.get('x-api-key') ?? undefined;
}

/** The owner whose tasks a caller may see and act on; undefined (every owner) for admins. */
export function visibleOwner(caller: Caller): string | undefined {
  return caller.role === 'admin' ? undefined : caller.id;
}
