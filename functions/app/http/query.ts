import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';
import { plainMessage } from '../../contract/plain-errors';
import { badRequest } from './handle';

/** The query string as an object; a repeated parameter keeps its last value. */
export function queryObject(request: HttpRequest): Record<string, string> {
  return Object.fromEntries(request.query.entries());
}

/** The query checked against `schema`: its value, or a 400 naming the first parameter at fault. */
export function parseQuery<T extends z.ZodType>(
  request: HttpRequest,
  schema: T,
): { ok: true; value: z.output<T> } | { ok: false; response: HttpResponseInit } {
  const parsed = schema.safeParse(queryObject(request));
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  // An unknown parameter is reported by name (`keys`), a bad value by its path.
  const field = issue.path.length
    ? issue.path.join('.')
    : String((issue as { keys?: string[] }).keys?.[0] ?? 'query');
  return { ok: false, response: badRequest(field, plainMessage(issue)) };
}
