import type { HttpRequest } from '@azure/functions';

/** The query string as an object; a repeated parameter keeps its last value. */
export function queryObject(request: HttpRequest): Record<string, string> {
  return Object.fromEntries(request.query.entries());
}
