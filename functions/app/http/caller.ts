import type { HttpRequest } from '@azure/functions';
import type { Presented } from '../../auth/caller';
import type { StreamScope } from '../../auth/stream-tokens';
import type { Settings } from '../../platform/settings';

/** The stream a request opens, on the two SSE URLs only: there a `?token=` stream token is accepted. */
export type StreamScopeOf = (request: HttpRequest) => StreamScope | undefined;

/** What a request presents to authenticate: its credential headers, and on the SSE URLs its `?token=`. */
export function presented(request: HttpRequest, streamScopeOf?: StreamScopeOf): Presented {
  const token = request.query.get('token');
  const scope = token ? streamScopeOf?.(request) : undefined;
  return {
    authorization: request.headers.get('authorization') ?? undefined,
    apiKey: request.headers.get('x-api-key') ?? undefined,
    streamToken: token && scope ? { token, scope } : undefined,
  };
}

/** The 401's one detail: what the mode wants, never what was wrong with what came. */
export function unauthenticatedDetail(settings: Settings): string {
  return settings.authMode === 'entra'
    ? 'A valid Microsoft Entra ID access token is required: Authorization: Bearer <token>.'
    : 'A valid API key is required: Authorization: Bearer <key>, or X-Api-Key: <key>.';
}
