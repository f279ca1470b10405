import type { HttpRequest } from '@azure/functions';

/**
 * What an API response may do in a browser: nothing. Pages that need more (the web UI, Swagger UI) set their own
 * policy, which is kept as it is.
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** One year, the value HSTS preload lists ask for; subdomains included since the app owns its host name. */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * The headers every response of the app carries (design: hardening), set on top of what the handler returned. Only a
 * handler's own Content-Security-Policy survives: the other values are the same for every response.
 */
export function applySecurityHeaders(headers: Headers, request: HttpRequest): void {
  headers.set('x-content-type-options', 'nosniff');
  headers.set('referrer-policy', 'no-referrer');
  // Both the legacy header and CSP frame-ancestors: older browsers know only the first.
  headers.set('x-frame-options', 'DENY');
  headers.set('cross-origin-opener-policy', 'same-origin');
  if (!headers.has('content-security-policy')) headers.set('content-security-policy', API_CSP);
  if (cameOverHttps(request)) headers.set('strict-transport-security', HSTS);
}

/**
 * Whether the client reached the app over HTTPS. Azure's front end ends TLS and says so in `x-forwarded-proto`; a client
 * that forges the header over plain HTTP only gets an HSTS header that browsers ignore on http:// responses.
 */
export function cameOverHttps(request: HttpRequest): boolean {
  const forwarded = request.headers.get('x-forwarded-proto')?.split(',')[0].trim().toLowerCase();
  return forwarded === 'https' || new URL(request.url).protocol === 'https:';
}
