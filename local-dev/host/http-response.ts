import type { ServerResponse } from 'node:http';
import { HttpResponse, type Cookie, type HttpResponseInit } from '@azure/functions';

/** Connection-level headers a handler cannot set; Node's server manages them (as the Functions proxy drops them). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** True when the handler's body arrives over time (SSE, large downloads) and must be written as it comes. */
export function isStreamingBody(init: HttpResponseInit | undefined): boolean {
  const body = init?.body;
  return (
    init?.jsonBody === undefined && typeof body === 'object' && body !== null && Symbol.asyncIterator in body
  );
}

/** What a failed invocation returns: the reason stays in the log, never in the response. */
export function internalErrorResponse(invocationId: string): HttpResponse {
  return new HttpResponse({
    status: 500,
    headers: { 'content-type': 'application/problem+json' },
    jsonBody: {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: `The function failed. Invocation ${invocationId} in the host log has the details.`,
    },
  });
}

export function writeHead(res: ServerResponse, response: HttpResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie' && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
  }
  const cookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

/** Writes a finite body in one go, so Node sends a Content-Length. */
export async function writeBufferedBody(res: ServerResponse, response: HttpResponse): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  await new Promise<void>((resolve) => res.end(body, resolve));
}

/**
 * Writes each chunk as soon as the handler produces it (headers go out first, so an EventSource opens at once).
 * Returns a function that stops the stream early; the client going away does the same. Either way the handler's
 * stream is cancelled, so it can release what it holds (subscriptions, timers).
 */
export function pipeStreamingBody(
  res: ServerResponse,
  response: HttpResponse,
  onError: (error: unknown) => void,
): { done: Promise<void>; stop: () => void } {
  const body = response.body;
  if (!body) {
    return { done: new Promise((resolve) => res.end(resolve)), stop: () => undefined };
  }
  const reader = body.getReader();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    reader.cancel().catch(() => undefined);
  };
  const onClose = (): void => {
    if (!res.writableFinished) stop();
  };
  res.on('close', onClose);
  // The client may have left while the handler was still preparing the response.
  if (res.destroyed) stop();
  else res.flushHeaders();
  const done = (async () => {
    try {
      for (;;) {
        const { done: finished, value } = await reader.read();
        if (finished || res.destroyed) break;
        if (!res.write(value)) await drained(res);
      }
      res.end();
    } catch (error) {
      // Ending normally would look like a complete body; a reset tells the client it is not.
      if (!stopped) onError(error);
      res.destroy();
    } finally {
      res.off('close', onClose);
    }
  })();
  return { done, stop };
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      res.off('drain', finish);
      res.off('close', finish);
      resolve();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}

/** Set-Cookie as the Functions worker writes it (the `cookie` package's format). */
function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${encodeURIComponent(cookie.value)}`];
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(cookie.maxAge)}`);
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.secure) parts.push('Secure');
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}
