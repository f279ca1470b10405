import type { HttpResponseInit } from '@azure/functions';
import { handler, type HandlerOptions, type HttpHandler, type RequestScope } from './handle';
import { problem } from './responses';

/**
 * `handler` for the admin API: an authenticated caller without the admin role gets a 403 problem (`forbidden`), never
 * the data. With AUTH_MODE=none the local caller is an admin.
 */
export function adminHandler(
  fn: (scope: RequestScope) => Promise<HttpResponseInit>,
  options: HandlerOptions = {},
): HttpHandler {
  return handler(async (scope) => {
    if (scope.caller.role !== 'admin') {
      return problem(403, 'forbidden', 'This endpoint needs the admin role.');
    }
    return fn(scope);
  }, options);
}
