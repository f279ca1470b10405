import type { HttpRequest } from '@azure/functions';
import type { ApiKeyStore, KeyHolder, Role } from '../../auth/api-keys';
import type { EntraTokens } from '../../auth/entra-tokens';
import type { StreamScope, StreamTokens } from '../../auth/stream-tokens';
import type { Settings } from '../../platform/settings';

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
    case 'apikey':
      return credentialOrStreamToken(
        request,
        bearer(request) ?? request.headers.get('x-api-key') ?? undefined,
        (key) => auth.apiKeys.authenticate(key),
        auth.streamTokens,
        streamScopeOf,
      );
    case 'entra': {
      const { entraTokens } = auth;
      if (!entraTokens) throw new Error('AUTH_MODE=entra: no Entra ID token validator was built');
      return credentialOrStreamToken(
        request,
        bearer(request),
        (token) => entraTokens.verify(token),
        auth.streamTokens,
        streamScopeOf,
      );
    }
  }
}

/** The 401's one detail: what the mode wants, never what was wrong with what came. */
export function unauthenticatedDetail(settings: Settings): string {
  return settings.authMode === 'entra'
    ? 'A valid Microsoft Entra ID access token is required: Authorization: Bearer <token>.'
    : 'A valid API key is required: Authorization: Bearer <key>, or X-Api-Key: <key>.';
}

/**
 * The caller of the credential a request's headers present, if any; else, on the SSE URLs only, of a `?token=`
 * stream token made for the stream the request opens.
 */
async function credentialOrStreamToken(
  request: HttpRequest,
  credential: string | undefined,
  verify: (credential: string) => Promise<KeyHolder | undefined>,
  streamTokens: StreamTokens,
  streamScopeOf: StreamScopeOf | undefined,
): Promise<Caller | undefined> {
  if (credential !== undefined) {
    const holder = await verify(credential);
    return holder && { id: holder.owner, role: holder.role };
  }
  const token = request.query.get('token');
  const scope = streamScopeOf?.(request);
  if (!token || !scope) return undefined;
  const grant = await streamTokens.verify(token);
  if (!grant || grant.scope.taskId !== scope.taskId) return undefined;
  return { id: grant.owner, role: grant.role };
}

/** The credential of `Authorization: Bearer <credential>`; an empty string when the header is malformed. */
function bearer(request: HttpRequest): string | undefined {
  const authorization = request.headers.get('authorization');
  if (authorization === null) return undefined;
  return /^Bearer +(\S+) *$/i.exec(authorization)?.[1] ?? '';
}

/** The owner whose tasks a caller may see and act on; undefined (every owner) for admins. */
export function visibleOwner(caller: Caller): string | undefined {
  return caller.role === 'admin' ? undefined : caller.id;
}
