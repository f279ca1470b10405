import type { HttpResponseInit } from '@azure/functions';
import { Readable } from 'node:stream';
import type { Problem } from '../../contract/api-schemas';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An RFC 9457 problem response; `type` is a stable URN per kind of problem. */
export function problem(
  status: number,
  kind: string,
  detail: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponseInit {
  const body: Problem = {
    type: `urn:longhaul:problem:${kind}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...extensions,
  };
  return {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** 422 for a body that parsed but failed validation: every failing path listed, the first named in `field`. */
export function invalidFields(
  kind: string,
  errors: Array<{ path: string; message: string }>,
): HttpResponseInit {
  return problem(422, kind, errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; '), {
    field: errors[0]?.path,
    errors,
  });
}

/** A JSON response; handlers name the contract type of `body` (`json<Task>(…)`), so it is checked against the API's. */
/** How long a client should wait before polling a task that is not finished yet (a 202, a queued or running task). */
export const POLL_RETRY_AFTER_SECONDS = 2;

export function json<T>(status: number, body: T, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** A text response (HTML, CSS, JavaScript). */
export function text(
  status: number,
  contentType: string,
  body: string,
  cacheControl = 'no-cache',
): HttpResponseInit {
  return { status, headers: { 'content-type': contentType, 'cache-control': cacheControl }, body };
}

/**
 * A JSON blob as the response body, streamed (never held in memory). The blobs it serves never change once written (a
 * result, an input), so the client may cache them.
 */
export function streamedJson(content: { stream: NodeJS.ReadableStream; length?: number }): HttpResponseInit {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'private, max-age=3600',
  };
  if (content.length !== undefined) headers['content-length'] = String(content.length);
  return {
    status: 200,
    headers,
    body: Readable.toWeb(
      Readable.from(content.stream as AsyncIterable<Uint8Array>),
    ) as ReadableStream<Uint8Array>,
  };
}
