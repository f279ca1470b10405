import type { HttpRequest } from '@azure/functions';
import type { HttpMethod } from '../../trigger-types';
import { publicHandler, type HttpHandler } from '../handle';
import { problem } from '../responses';
import { Router, splitPath, type RouteMatch } from '../routes';

export interface KnownRoute {
  route: string;
  methods: HttpMethod[];
}

/** A route the catch-all serves itself, because the host cannot register it (the site root: no empty routes). */
export interface CatchAllRoute extends KnownRoute {
  handler: HttpHandler;
}

/**
 * The catch-all route (`{*path}` under an empty route prefix): serves `own` routes, else 405 with `Allow` for a known
 * path and another method, else 404 — both as problems, the same on Azure (where the host's own 404 is not
 * problem+json) and locally.
 */
export function createFallback(routes: KnownRoute[], own: CatchAllRoute[] = []): HttpHandler {
  const router = new Router<HttpHandler | undefined>([
    ...routes.map((r) => ({ route: r.route, methods: r.methods, value: undefined })),
    ...own.map((r) => ({ route: r.route, methods: r.methods, value: r.handler })),
  ]);
  const matchOf = (request: HttpRequest): RouteMatch<HttpHandler | undefined> => {
    const segments = splitPath(new URL(request.url).pathname, '');
    return segments ? router.match(request.method, segments) : { kind: 'notFound' };
  };
  const refuse = publicHandler(async ({ request }) => {
    const path = new URL(request.url).pathname;
    const match = matchOf(request);
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
  // Own routes are dispatched before `handler` resolves a caller: the web UI's page is public.
  return async (request, context) => {
    const match = matchOf(request);
    return match.kind === 'found' && match.value ? match.value(request, context) : refuse(request, context);
  };
}
