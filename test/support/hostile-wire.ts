import { request as httpRequest, type Agent } from 'node:http';
import { connect } from 'node:net';

/** A response as the client saw it; an event stream is left after its head. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends one request with node:http, which writes the path and header bytes as given (fetch would resolve `..`,
 * re-encode the path and refuse some methods). Event streams are closed once their head has arrived.
 */
export function sendHttp(
  agent: Agent,
  port: number,
  options: { method: string; target: string; headers: Record<string, string>; body?: Buffer },
): Promise<WireResponse> {
  const withBody = options.body !== undefined;
  // Node frames no body of a DELETE or an OPTIONS by itself: the server would read it as the next request.
  const headers = withBody
    ? { ...options.headers, 'content-length': String(options.body?.length), connection: 'close' }
    : options.headers;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        // A request with a body gets a connection of its own, closed after the answer: the local host leaves a body
        // that a handler refused unread, and a kept-alive connection then stalls (see the report of issue 8's fuzzing).
        agent: withBody ? false : agent,
        method: options.method,
        path: options.target,
        headers,
      },
      (res) => {
        const head = {
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(
            Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
          ),
        };
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          resolve({ ...head, body: Buffer.alloc(0) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (withBody) req.destroy();
          resolve({ ...head, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Writes raw bytes on a new connection, ends the writing side and collects what the server sends until it closes
 * (or `timeoutMs`). Returns every response found in the bytes, in order.
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 5_000): Promise<WireResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may reset a connection it refused: what it sent before counts.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponses(Buffer.concat(chunks)));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** HTTP/1.1 responses one after the other: heads, then bodies by Content-Length, chunks or connection close. */
export function parseResponses(data: Buffer): WireResponse[] {
  const responses: WireResponse[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0)
      throw new Error(
        `an incomplete response head: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`,
      );
    const [statusLine, ...fields] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const field of fields) {
      const colon = field.indexOf(':');
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
    }
    rest = rest.subarray(end + 4);
    let body: Buffer;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
        rest = rest.subarray(lineEnd + 2);
        if (!size) {
          rest = rest.subarray(2);
          break;
        }
        parts.push(rest.subarray(0, size));
        rest = rest.subarray(size + 2);
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    } else {
      body = rest;
      rest = Buffer.alloc(0);
    }
    responses.push({ status: Number(match[1]), headers, body });
  }
  return responses;
}
