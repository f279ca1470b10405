import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { HttpRequest, type HttpRequestInit } from '@azure/functions';

/**
 * `@azure/functions` builds its streaming requests from a fetch `Request` (the `nativeRequest` init field, which its
 * public typings leave out). Using it keeps the body a stream, exactly as the Functions worker does with
 * `enableHttpStream`; `bytes`/`string` would buffer the whole body first.
 */
interface StreamingHttpRequestInit extends HttpRequestInit {
  nativeRequest: Request;
}

/**
 * The incoming request as the handler sees it under the Functions host. The query comes from the URL (so repeated
 * keys survive), route parameters from the matched template: the library never parses them from the URL.
 */
export function toHttpRequest(req: IncomingMessage, url: URL, params: Record<string, string>): HttpRequest {
  const method = req.method ?? 'GET';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const nativeRequest = new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  });
  const init: StreamingHttpRequestInit = { nativeRequest, params };
  return new HttpRequest(init);
}

/** The absolute URL of a request, from its Host header when that is usable. */
export function requestUrl(req: IncomingMessage, fallbackHost: string): URL {
  const path = req.url ?? '/';
  try {
    return new URL(path, `http://${req.headers.host ?? fallbackHost}`);
  } catch {
    return new URL(path, `http://${fallbackHost}`);
  }
}
