import type { HttpMethod } from '../../trigger-types';
import { handler, type HttpHandler } from '../handle';
import { problem } from '../responses';

export interface KnownRoute {
  route: string;
  methods: HttpMethod[];
}

/** Matches `tasks/{id}/result`-style templates (optional `{x?}` and catch-all `{*x}` included). */
function templatePattern(route: string): RegExp {
  const parts = route.split('/').map((segment) => {
    if (/^\{\*[^}]+\}$/.test(segment)) return '(?:/.*)?';
    if (/^\{[^}]+\?\}$/.test(segment)) return '(?:/[^/]+)?';
    if (/^\{[^}]+\}$/.test(segment)) return '/[^/]+';
    return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
  });
  return new RegExp(`^${parts.join('')}/?$`, 'i');
}

/** The catch-all route: 405 with `Allow` for a known path and another method, else 404 — both as problems. */
export function createFallback(routes: KnownRoute[], routePrefix = 'api'): HttpHandler {
  const compiled = routes.map((r) => ({ ...r, pattern: templatePattern(r.route) }));
  const prefix = `/${routePrefix}`;
  return handler(async ({ request }) => {
    const path = new URL(request.url).pathname;
    const relative = path.toLowerCase().startsWith(prefix) ? path.slice(prefix.length) : path;
    const allowed = [...new Set(compiled.filter((r) => r.pattern.test(relative)).flatMap((r) => r.methods))];
    if (allowed.length > 0) {
      return problem(
        405,
        'method-not-allowed',
        `${request.method} is not allowed on ${path}.`,
        { allow: allowed },
        {
          allow: allowed.join(', '),
        },
      );
    }
    return problem(404, 'not-found', `No route ${path}.`);
  });
}
