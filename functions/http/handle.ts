import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, type AppServices } from '../app-services';
import { authenticate, type Caller, type StreamScopeOf } from './caller';
import { problem } from './responses';

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface PublicScope {
  request: HttpRequest;
  context: InvocationContext;
  services: AppServices;
}

export interface RequestScope extends PublicScope {
  caller: Caller;
}

export interface HandlerOptions {
  /** On the SSE URLs: the stream the request opens, which a `?token=` stream token must match. */
  streamScope?: StreamScopeOf;
}

/** Wraps a handler that needs a caller: authenticates the request, and answers 401 when that fails. */
export function handler(
  fn: (scope: RequestScope) => Promise<HttpResponseInit>,
  options: HandlerOptions = {},
): HttpHandler {
  return publicHandler(async (scope) => {
    const { request, services } = scope;
    const caller = await authenticate(request, services.settings, services.auth, options.streamScope);
    // One generic answer whatever was wrong (missing, malformed, unknown, revoked): no hint for guessing.
    if (!caller) {
      return problem(
        401,
        'unauthenticated',
        'A valid API key is required: Authorization: Bearer <key>, or X-Api-Key: <key>.',
        {},
        { 'www-authenticate': 'Bearer' },
      );
    }
    return fn({ ...scope, caller });
  });
}

/**
 * Wraps a handler that anyone may call (health, API docs): marks responses of an unauthenticated server, and turns any
 * unexpected error into a 500 problem without internals.
 */
export function publicHandler(fn: (scope: PublicScope) => Promise<HttpResponseInit>): HttpHandler {
  return async (request, context) => {
    try {
      const services = appServices();
      const response = await fn({ request, context, services });
      return services.settings.authMode === 'none'
        ? withHeader(response, 'longhaul-auth-mode', 'none')
        : response;
    } catch (err) {
      context.error(
        `${request.method} ${new URL(request.url).pathname} failed: ${(err as Error).stack ?? String(err)}`,
      );
      return problem(500, 'internal', 'The server could not complete the request. It has been logged.');
    }
  };
}

function withHeader(response: HttpResponseInit, name: string, value: string): HttpResponseInit {
  const headers = new Headers(response.headers as ConstructorParameters<typeof Headers>[0]);
  headers.set(name, value);
  return { ...response, headers };
}

/** The first failing field of a zod-checked value, as a 400 problem naming it. */
export function badRequest(field: string, message: string): HttpResponseInit {
  return problem(400, 'bad-request', `${field}: ${message}`, { field });
}
