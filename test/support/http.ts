import { HttpRequest, HttpResponse, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { HttpHandler } from '../../functions/app/http/handle';

export interface CallOptions {
  method?: string;
  path: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  /** A raw body, sent as is. */
  rawBody?: string | Uint8Array;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
  init: HttpResponseInit;
}

/** Calls an exported handler the way the Functions host does, with `new HttpRequest` and `new InvocationContext`. */
export async function call(handler: HttpHandler, options: CallOptions): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: { string: string } | { bytes: Uint8Array } | undefined;
  if (options.rawBody !== undefined) {
    body = typeof options.rawBody === 'string' ? { string: options.rawBody } : { bytes: options.rawBody };
  } else if (options.body !== undefined) {
    body = { string: JSON.stringify(options.body) };
    headers['content-type'] ??= 'application/json';
  }
  const request = new HttpRequest({
    method: options.method ?? 'GET',
    url: `http://localhost:7071${options.path}`,
    headers,
    params: options.params ?? {},
    body,
  });
  const logs: unknown[][] = [];
  const context = new InvocationContext({
    invocationId: 'test',
    functionName: 'test',
    logHandler: (level, ...args) => logs.push([level, ...args]),
  });
  const init = await handler(request, context);
  const response = new HttpResponse(init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return {
    status: response.status,
    headers: response.headers as unknown as Headers,
    body: parsed,
    text,
    init,
  };
}
