/**
 * The error code Azure gave: the SDK's `code`, else the `x-ms-error-code` response header. A HEAD request
 * (getProperties, exists, the size probe of downloadToBuffer) gets a response without a body, so the SDK parses no
 * code and no message; Storage sends the code in that header too
 * (https://learn.microsoft.com/en-us/rest/api/storageservices/status-and-error-codes2).
 */
export function azureErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as {
    code?: unknown;
    response?: { headers?: { get?: (name: string) => string | undefined } };
  };
  if (typeof e.code === 'string' && e.code) return e.code;
  return e.response?.headers?.get?.('x-ms-error-code') || undefined;
}

/**
 * The text of an error for logs, a task's error and its events: never empty. The message when there is one; else,
 * for a failed request (an Azure SDK RestError), its status, code, method and path (no query: it may hold a SAS);
 * for an AggregateError, its inner errors; for a thrown non-Error, the value itself.
 */
export function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return textOf(String(err), typeof err);
  const e = err as { message?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message.trim() : '';
  const inner = err instanceof AggregateError ? [...new Set(err.errors.map(describeError))] : [];
  // Node's connect with several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError of each one.
  if (inner.length > 0) return message ? `${message}: ${inner.join('; ')}` : inner.join('; ');
  if (message) return message;
  const request = describeRequest(err);
  if (request) return request;
  if (!(err instanceof Error)) return textOf(json(err), 'object');
  const name = err.constructor.name || String(e.name);
  const code = azureErrorCode(err);
  return code ? `${name} ${code}` : `${name} (no message)`;
}

/** "HTTP 404 BlobNotFound on HEAD /container/blob", from what a RestError carries; undefined for other errors. */
function describeRequest(err: object): string | undefined {
  const e = err as { statusCode?: unknown; request?: { method?: unknown; url?: unknown } };
  const status = typeof e.statusCode === 'number' ? `HTTP ${e.statusCode}` : undefined;
  const method = typeof e.request?.method === 'string' ? e.request.method : undefined;
  if (!status && !method) return undefined;
  const code = azureErrorCode(err);
  const path = typeof e.request?.url === 'string' ? pathOf(e.request.url) : undefined;
  const target = [method, path].filter(Boolean).join(' ');
  return [status ?? 'request failed', code, target && `on ${target}`].filter(Boolean).join(' ');
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function json(value: object): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function textOf(text: string, type: string): string {
  return text.trim() ? text : `an empty ${type} was thrown`;
}
