import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, type AppServices } from '../app-services';
import { authenticate, type Caller } from '../../auth/caller';
import type { LimitKind } from '../../auth/rate-limits';
import { presented, type StreamScopeOf, unauthenticatedDetail } from './caller';
import { redactSecrets } from '../../platform/redact';
import type { Settings } from '../../platform/settings';
import { applyCorsHeaders, corsPreflight } from './cors';
import { type BodyResult, readJsonBody } from './json-body';
import { refusalResponse, withRateLimitHeaders } from './rate-limits';
import { requestLimitProblem } from './request-limits';
import { problem } from './responses';
import { applySecurityHeaders } from './security-headers';

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface PublicScope {
  request: HttpRequest;
  context: InvocationContext;
  services: AppServices;
  /** The request's JSON body, read with at most `maxBytes` and MAX_JSON_DEPTH. */
  readJson: (maxBytes: number) => Promise<BodyResult>;
}

export interface RequestScope extends PublicScope {
  caller: Caller;
}

export interface HandlerOptions {
  /** On the SSE URLs: the stream the request opens, which a `?token=` stream token must match. */
  streamScope?: StreamScopeOf;
  /** The caller's budget the request spends (docs/security.md#rate-limits); default `read`. */
  limit?: LimitKind;
  /** A request that no rate limit refuses (an idempotent replay writes nothing); asked only when one would. */
  exempt?: (scope: RequestScope) => Promise<boolean>;
}

/**
 * Wraps a handler that needs a caller: authenticates the request (401 when that fails), then spends one request of the
 * caller's rate limit (429 over it; 503 for a submit while the limiter is down) and adds the RateLimit headers.
 */
export function handler(
  fn: (scope: RequestScope) => Promise<HttpResponseInit>,
  options: HandlerOptions = {},
): HttpHandler {
  return publicHandler(async (scope) => {
    const { request, services } = scope;
    const caller = await authenticate(
      presented(request, options.streamScope),
      services.settings.authMode,
      services.auth,
    );
    // One generic answer whatever was wrong (missing, malformed, unknown, revoked): no hint for guessing.
    if (!caller) {
      return problem(
        401,
        'unauthenticated',
        unauthenticatedDetail(services.settings),
        {},
        { 'www-authenticate': 'Bearer' },
      );
    }
    const scoped = { ...scope, caller };
    const kind = options.limit ?? 'read';
    const admission = await services.rateLimits.admit(
      kind,
      caller.id,
      async () => (await options.exempt?.(scoped)) ?? false,
    );
    if (!admission.admitted) return refusalResponse(kind, admission);
    return withRateLimitHeaders(await fn(scoped), admission.quota);
  });
}

/**
 * Wraps a handler that anyone may call (health, API docs), and through `handler` every other one: refuses oversized
 * headers and query strings and answers CORS preflights before the handler runs, sets the security and CORS headers on
 * every response, marks responses of an unauthenticated server, and turns any unexpected error into a 500 problem
 * without internals.
 */
export function publicHandler(fn: (scope: PublicScope) => Promise<HttpResponseInit>): HttpHandler {
  return async (request, context) => {
    let settings: Settings | undefined;
    let response: HttpResponseInit;
    try {
      const services = appServices();
      settings = services.settings;
      response =
        requestLimitProblem(request, settings.maxHeaderBytes) ??
        corsPreflight(request, settings.corsAllowedOrigins) ??
        (await fn({
          request,
          context,
          services,
          readJson: (maxBytes) => readJsonBody(request, maxBytes, services.settings.maxJsonDepth),
        }));
    } catch (err) {
      context.error(
        redactSecrets(
          `${request.method} ${new URL(request.url).pathname} failed: ${(err as Error).stack ?? String(err)}`,
        ),
      );
      response = problem(500, 'internal', 'The server could not complete the request. It has been logged.');
    }
    const headers = new Headers(response.headers as ConstructorParameters<typeof Headers>[0]);
    applySecurityHeaders(headers, request);
    // Without settings (they failed to load) CORS stays off: the 500 needs no cross-origin reader.
    applyCorsHeaders(headers, request, settings?.corsAllowedOrigins ?? []);
    if (settings?.authMode === 'none') headers.set('longhaul-auth-mode', 'none');
    return { ...response, headers };
  };
}

/** The first failing field of a zod-checked value, as a 400 problem naming it. */
export function badRequest(field: string, message: string): HttpResponseInit {
  return problem(400, 'bad-request', `${field}: ${message}`, { field });
}
