import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problem } from './responses';

/** The API's methods and the request headers it reads (credentials, idempotency, SSE resumption). */
const ALLOW_METHODS = 'GET, POST, DELETE';
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Api-Key, Last-Event-ID';
/** Response headers a cross-origin script needs to follow the async request-reply flow and back off. */
const EXPOSE_HEADERS = [
  'Location',
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
  'Longhaul-Auth-Mode',
].join(', ');
/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Only the API is offered cross-origin: the web UI and Swagger UI are pages of the app's own origin. The allow-list
 * holds exact origins (`https://app.example.com`), or `*` (settings.ts refuses it without authentication).
 */
function isApi(request: HttpRequest): boolean {
  return /^\/api(\/|$)/i.test(new URL(request.url).pathname);
}

function allowedOrigin(request: HttpRequest, allowed: readonly string[]): string | undefined {
  const origin = request.headers.get('origin');
  if (!origin || allowed.length === 0 || !isApi(request)) return undefined;
  return allowed.includes(origin) || allowed.includes('*') ? origin : undefined;
}

/**
 * The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) on the API, or undefined for any
 * other request. Preflights carry no credentials by design, so they are answered before authentication.
 */
export function corsPreflight(
  request: HttpRequest,
  allowed: readonly string[],
): HttpResponseInit | undefined {
  if (
    request.method !== 'OPTIONS' ||
    !request.headers.has('access-control-request-method') ||
    !isApi(request)
  ) {
    return undefined;
  }
  const origin = allowedOrigin(request, allowed);
  if (!origin) {
    return problem(403, 'cors-origin-not-allowed', 'This origin may not call the API from a browser.', {
      field: 'origin',
    });
  }
  return {
    status: 204,
    headers: {
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': PREFLIGHT_MAX_AGE,
    },
  };
}

/** Adds the CORS headers of an allowed origin; with CORS off (no allowed origins) it adds nothing at all. */
export function applyCorsHeaders(headers: Headers, request: HttpRequest, allowed: readonly string[]): void {
  if (allowed.length === 0 || !isApi(request)) return;
  // The answer depends on Origin whether or not this one is allowed: caches must key on it.
  headers.append('vary', 'Origin');
  const origin = allowedOrigin(request, allowed);
  if (!origin) return;
  headers.set('access-control-allow-origin', origin);
  headers.set('access-control-expose-headers', EXPOSE_HEADERS);
}
