import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import * as contract from '../../../functions/contract/api-schemas';
import { Router, splitPath } from '../../../functions/app/http/routes';

/** The contract's schemas by their `id`, the name the OpenAPI document gives them under components.schemas. */
export const SCHEMAS_BY_ID: ReadonlyMap<string, z.ZodType> = new Map(
  Object.values(contract).flatMap((value): Array<[string, z.ZodType]> => {
    if (!(value instanceof z.ZodType)) return [];
    const id = z.globalRegistry.get(value)?.id;
    return id ? [[id, value]] : [];
  }),
);

export interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

/** One answer of the API, as the checker needs it. */
export interface Answer {
  method: string;
  url: string;
  status: number;
  contentType: string | null;
  body: unknown;
}

/** Problems any route can answer before its handler runs (oversized query or headers): not listed per operation. */
const ANY_ROUTE_PROBLEMS = new Set([414, 431]);

const mediaTypeOf = (contentType: string | null) => (contentType ?? '').split(';')[0].trim().toLowerCase();
export const isJson = (contentType: string | null) =>
  /^application\/([a-z0-9.+-]+\+)?json$/.test(mediaTypeOf(contentType));

/**
 * Checks JSON answers against the OpenAPI document: the operation of the request's path and method, its response for
 * the status and media type, whose schema must be a component of the document, then that component's zod schema in
 * the contract. The body must parse and come out unchanged, so a field the contract does not name is an error too.
 */
export class ContractChecker {
  private readonly router: Router<string>;
  /** `METHOD /path status` of every documented response that a checked answer matched. */
  readonly covered = new Set<string>();

  constructor(private readonly document: OpenApi) {
    this.router = new Router(
      Object.entries(document.paths).map(([path, operations]) => ({
        route: path.slice(1),
        methods: Object.keys(operations),
        value: path,
      })),
    );
  }

  /** What is wrong with the answer, or undefined. */
  violation(answer: Answer): string | undefined {
    const { method, status } = answer;
    const what = `${method} ${new URL(answer.url).pathname} ${status}`;
    const mediaType = mediaTypeOf(answer.contentType);
    const segments = splitPath(new URL(answer.url).pathname, '');
    const match = segments ? this.router.match(method, segments) : undefined;
    let ref: string | undefined;
    let key: string | undefined;
    if (match?.kind === 'found') {
      const response = this.document.paths[match.value][method.toLowerCase()].responses[String(status)];
      if (!response) {
        if (!(ANY_ROUTE_PROBLEMS.has(status) && mediaType === 'application/problem+json'))
          return `${what}: the document lists no ${status} for ${method} ${match.value}`;
        ref = '#/components/schemas/Problem';
      } else {
        ref = response.content?.[mediaType]?.schema?.$ref;
        if (!ref) return `${what}: the document has no named schema for ${mediaType}`;
        key = `${method} ${match.value} ${status}`;
      }
    } else if (mediaType === 'application/problem+json') {
      // Not an API operation (the catch-all's 404 and 405, the UI's and Swagger UI's files): still a Problem.
      ref = '#/components/schemas/Problem';
    } else {
      return `${what}: no operation of the document answers it`;
    }
    const name = ref.replace('#/components/schemas/', '');
    if (!(name in this.document.components.schemas)) return `${what}: ${ref} is not in the document`;
    const schema = SCHEMAS_BY_ID.get(name);
    if (!schema) return `${what}: the contract has no schema with id ${name}`;
    const failure = bodyViolation(schema, answer.body);
    if (failure) return `${what} (${name}): ${failure}`;
    if (key) this.covered.add(key);
    return undefined;
  }

  /** `METHOD /path status` of every documented JSON response. */
  documentedJsonResponses(): string[] {
    return Object.entries(this.document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.entries(operation.responses)
          .filter(([, response]) => Object.keys(response.content ?? {}).some((type) => isJson(type)))
          .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
  }
}

/** What is wrong with `body` for `schema`: a zod issue, or a field the schema does not name (zod drops those). */
export function bodyViolation(schema: z.ZodType, body: unknown): string | undefined {
  const parsed = schema.safeParse(body);
  if (!parsed.success) return z.prettifyError(parsed.error).replace(/\n/g, ' ');
  if (!isDeepStrictEqual(parsed.data, body)) return 'fields the contract does not name';
  return undefined;
}
