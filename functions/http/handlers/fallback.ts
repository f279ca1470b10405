import type { HttpMethod } from '../../trigger-types';
import { handler, type HttpHandler } from '../handle';
import { problem } from '../responses';
import { Router, splitPath } from '../routes';

export interface KnownRoute {
  route: string;
  methods: HttpMethod[];
}

/**
 * The catch-all route: 405 with `Allow` for a known path and another method, else 404 — both as problems, the same on
 * Azure (where the host's own 404 is not problem+json) and locally.
 */
export function createFallback(routes: KnownRoute[], routePrefix = 'api'): HttpHandler {
  const router = new Router(routes.map((r) => ({ route: r.route, methods: r.methods, value: r.route })));
  return handler(async ({ request }) => {
    const path = new URL(request.url).pathname;
    const segments = splitPath(path, routePrefix);
    const match = segments ? router.match(request.method, segments) : { kind: 'notFound' as const };
    if (match.kind === 'methodNotAllowed') {
      return problem(
        405,
        'method-not-allowed',
        `${request.method} is not allowed on ${path}.`,
        { allow: match.allow },
        { allow: match.allow.join(', ') },
      );
    }
    return problem(404, 'not-found', `No route ${path}.`);
  });
}
