/**
 * Azure Functions route templates (`tasks/{id}`, `{id?}`, `{*path}`) and the matching rules of the Functions host:
 * literals match case-insensitively, literal segments beat parameters, parameters beat optional parameters, and a
 * catch-all route only gets a request that no other route takes for its path and method.
 */

export type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string; optional: boolean }
  | { kind: 'catchAll'; name: string };

export interface RouteTemplate {
  readonly template: string;
  readonly segments: readonly Segment[];
  readonly isCatchAll: boolean;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a route template; throws on syntax the local host does not support (constraints, defaults, `{a}.{b}`). */
export function parseRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const parts = trimmed === '' ? [] : trimmed.split('/');
  const segments: Segment[] = [];
  const names = new Set<string>();
  const fail = (why: string): never => {
    throw new Error(`Route "${template}": ${why}`);
  };
  parts.forEach((part, index) => {
    const isLast = index === parts.length - 1;
    if (!part.includes('{') && !part.includes('}')) {
      if (part === '') fail('empty segment');
      segments.push({ kind: 'literal', value: part.toLowerCase() });
      return;
    }
    const param = /^\{(\*{1,2})?([^{}]*?)(\?)?\}$/.exec(part);
    if (!param) return fail(`segment "${part}" must be a literal or exactly one {parameter}`);
    const [, star, name, optional] = param;
    if (name.includes(':') || name.includes('=')) {
      fail(`"${part}": route constraints and default values are not supported by the local host`);
    }
    if (!PARAM_NAME.test(name)) fail(`"${part}" is not a valid parameter name`);
    if (names.has(name.toLowerCase())) fail(`parameter "${name}" appears twice`);
    names.add(name.toLowerCase());
    if (star) {
      if (!isLast) fail(`catch-all "${part}" must be the last segment`);
      if (optional) fail(`catch-all "${part}" is optional already`);
      segments.push({ kind: 'catchAll', name });
    } else {
      if (optional && !isLast) fail(`optional "${part}" must be the last segment`);
      segments.push({ kind: 'param', name, optional: Boolean(optional) });
    }
  });
  return { template, segments, isCatchAll: segments.some((s) => s.kind === 'catchAll') };
}

/**
 * Splits a request path (still percent-encoded) into decoded segments below the route prefix; `undefined` when the
 * path is outside the prefix. One trailing slash is ignored, as ASP.NET routing does.
 */
export function splitPath(pathname: string, routePrefix: string): string[] | undefined {
  const parts = pathname.split('/').slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  const prefix = routePrefix === '' ? [] : routePrefix.split('/');
  for (let i = 0; i < prefix.length; i++) {
    if (parts[i]?.toLowerCase() !== prefix[i].toLowerCase()) return undefined;
  }
  return parts.slice(prefix.length).map(decodeSegment);
}

/** Kestrel leaves what it cannot decode (a broken escape, bytes that are not UTF-8) as it came, so the route still runs. */
function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Route parameters when `segments` match the template, else `undefined`. */
export function matchTemplate(
  route: RouteTemplate,
  segments: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i];
    const value = segments[i];
    switch (segment.kind) {
      case 'literal':
        if (value?.toLowerCase() !== segment.value) return undefined;
        break;
      case 'param':
        if (value === undefined && segment.optional) return params; // optional ones are last
        if (value === undefined || value === '') return undefined;
        params[segment.name] = value;
        break;
      case 'catchAll': {
        // A catch-all also matches nothing; then the parameter is absent, as in Functions.
        const rest = segments.slice(i).join('/');
        if (rest !== '') params[segment.name] = rest;
        return params;
      }
    }
  }
  return segments.length === route.segments.length ? params : undefined;
}

const RANK = { literal: 0, param: 1, optional: 2, catchAll: 3 } as const;

function rank(segment: Segment): number {
  if (segment.kind === 'param') return segment.optional ? RANK.optional : RANK.param;
  return RANK[segment.kind];
}

/** Negative when `a` takes precedence over `b`: compared segment by segment, a shorter template first on a tie. */
export function comparePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const ra = a.segments[i] ? rank(a.segments[i]) : -1;
    const rb = b.segments[i] ? rank(b.segments[i]) : -1;
    if (ra !== rb) return ra - rb;
  }
  return 0;
}

export interface RouteDefinition<T> {
  route: string;
  methods: readonly string[];
  value: T;
}

export type RouteMatch<T> =
  | { kind: 'found'; value: T; params: Record<string, string> }
  | { kind: 'methodNotAllowed'; allow: string[] }
  | { kind: 'notFound' };

interface Entry<T> {
  template: RouteTemplate;
  methods: ReadonlySet<string>;
  value: T;
}

export class Router<T> {
  private readonly entries: Entry<T>[];

  /** Throws on an invalid template or when two routes claim the same template and method. */
  constructor(definitions: readonly RouteDefinition<T>[]) {
    const claimed = new Map<string, string>();
    this.entries = definitions.map((definition) => {
      const template = parseRouteTemplate(definition.route);
      const methods = new Set(definition.methods.map((m) => m.toUpperCase()));
      const shape = template.segments
        .map((s) =>
          s.kind === 'literal' ? s.value : s.kind === 'param' ? (s.optional ? '{?}' : '{}') : '{*}',
        )
        .join('/');
      for (const method of methods) {
        const other = claimed.get(`${method} ${shape}`);
        if (other !== undefined) {
          throw new Error(
            `Routes "${other}" and "${definition.route}" both match ${method} requests to the same paths`,
          );
        }
        claimed.set(`${method} ${shape}`, definition.route);
      }
      return { template, methods, value: definition.value };
    });
    this.entries.sort((a, b) => comparePrecedence(a.template, b.template));
  }

  match(method: string, segments: readonly string[]): RouteMatch<T> {
    const upper = method.toUpperCase();
    const allow = new Set<string>();
    let catchAll: RouteMatch<T> | undefined;
    for (const entry of this.entries) {
      const params = matchTemplate(entry.template, segments);
      if (!params) continue;
      if (!entry.methods.has(upper)) {
        for (const m of entry.methods) allow.add(m);
        continue;
      }
      if (!entry.template.isCatchAll) return { kind: 'found', value: entry.value, params };
      catchAll ??= { kind: 'found', value: entry.value, params };
    }
    if (catchAll) return catchAll;
    return allow.size > 0 ? { kind: 'methodNotAllowed', allow: [...allow].sort() } : { kind: 'notFound' };
  }
}
