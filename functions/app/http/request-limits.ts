import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problem } from './responses';

/**
 * The longest query string the API takes. Its queries are a few short parameters (filters, a cursor, a stream token);
 * anything longer is an attack on parsers and logs, refused before any handler reads it.
 */
export const MAX_QUERY_BYTES = 4096;

/** The size of the request's header section as sent on the wire: `name: value\r\n` per field. */
export function headerBytes(request: HttpRequest): number {
  let total = 0;
  for (const [name, value] of request.headers)
    total += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return total;
}

/** 431 for oversized headers, 414 for an oversized query string, else undefined. */
export function requestLimitProblem(
  request: HttpRequest,
  maxHeaderBytes: number,
): HttpResponseInit | undefined {
  if (headerBytes(request) > maxHeaderBytes) {
    return problem(
      431,
      'header-fields-too-large',
      `The request headers are larger than ${maxHeaderBytes} bytes.`,
      { field: 'headers', maxBytes: maxHeaderBytes },
    );
  }
  const query = new URL(request.url).search;
  if (Buffer.byteLength(query) > MAX_QUERY_BYTES + 1) {
    return problem(414, 'uri-too-long', `The query string is longer than ${MAX_QUERY_BYTES} bytes.`, {
      field: 'query',
      maxBytes: MAX_QUERY_BYTES,
    });
  }
  return undefined;
}
