import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { markSelfTraced, SpanKind, withSpan } from '../platform/tracing';
import { blockedAddressReason, type OutboundPolicy } from './address-policy';

export type OutboundErrorCode = 'refused' | 'too_large' | 'too_many_redirects' | 'content_type' | 'timeout';

/** An outbound request that was refused or broke a limit; `code` says which. Network errors are not wrapped. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly code: OutboundErrorCode,
    readonly url: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundRequest {
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** For each hop: connect, headers and the whole body. Default 10 s. */
  timeoutMs?: number;
  /** Largest (decoded) body read. Default 5 MiB. */
  maxBytes?: number;
  /** Redirects followed; with 0 a 3xx is returned as it is. Default 5. */
  maxRedirects?: number;
  /** Media types accepted for 2xx responses (e.g. `text/html`); others are refused unread. Default: any. */
  contentTypes?: readonly string[];
  /** Host names (exact, or `*.example.com`) this request may reach on every hop, besides the policy's checks. */
  allowHosts?: readonly string[];
  signal?: AbortSignal;
}

export interface OutboundResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Each URL redirected to, in order. */
  redirects: string[];
}

export interface OutboundClientOptions {
  policy: OutboundPolicy;
  userAgent: string;
  /** Name resolution; tests give a resolver that maps names to chosen addresses. */
  lookup?: typeof dnsLookup;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP(S) requests that cannot reach private networks (SSRF-safe by construction). The URL is checked before each
 * hop (scheme, allowlist, literal addresses), and every name is resolved by a lookup that refuses private, loopback,
 * link-local and reserved addresses: the socket connects to the very address that was checked, so DNS rebinding
 * cannot swap it afterwards. Redirects are followed by hand, each hop checked again; bodies, time and content types
 * are limited.
 */
export class OutboundClient {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
  };

  constructor(private readonly options: OutboundClientOptions) {
    // One span per hop is made here; the http instrumentation must not add a second one per request.
    for (const agent of Object.values(this.agents)) markSelfTraced(agent);
  }

  async request(target: string | URL, request: OutboundRequest = {}): Promise<OutboundResponse> {
    let url = new URL(target);
    let method = request.method ?? 'GET';
    let body = request.body;
    const redirects: string[] = [];
    const maxRedirects = request.maxRedirects ?? 5;
    for (;;) {
      const response = await this.hop(url, method, body, request);
      const location = response.headers.location;
      if (!REDIRECTS.has(response.status) || !location || maxRedirects === 0) {
        return { url: url.href, ...response, redirects };
      }
      if (redirects.length >= maxRedirects) {
        throw new OutboundError(
          `more than ${maxRedirects} redirects from ${target}`,
          'too_many_redirects',
          url.href,
        );
      }
      url = new URL(location, url);
      redirects.push(url.href);
      if (
        response.status === 303 ||
        (method === 'POST' && response.status !== 307 && response.status !== 308)
      ) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  close(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }

  /** One request, in a client span of its own (each redirect hop is one); the query string is left out of it. */
  private hop(
    url: URL,
    method: string,
    body: string | Buffer | undefined,
    request: OutboundRequest,
  ): Promise<Pick<OutboundResponse, 'status' | 'headers' | 'body'>> {
    return withSpan(
      method,
      {
        'http.request.method': method,
        'url.full': `${url.origin}${url.pathname}`,
        'server.address': url.hostname,
      },
      async (span) => {
        const response = await this.hopUntraced(url, method, body, request);
        span.setAttribute('http.response.status_code', response.status);
        return response;
      },
      { kind: SpanKind.CLIENT },
    );
  }

  private async hopUntraced(
    url: URL,
    method: string,
    body: string | Buffer | undefined,
    request: OutboundRequest,
  ): Promise<Pick<OutboundResponse, 'status' | 'headers' | 'body'>> {
    const refusal = this.options.policy.refusal(url, request.allowHosts);
    if (refusal) throw new OutboundError(`refused ${url.href}: ${refusal}`, 'refused', url.href);
    const timeoutMs = request.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const client = url.protocol === 'https:' ? https : http;
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = client.request(url, {
          method,
          agent: this.agents[url.protocol as 'http:' | 'https:'],
          lookup: this.guardedLookup(url),
          signal,
          headers: {
            'user-agent': this.options.userAgent,
            'accept-encoding': 'gzip, deflate, br',
            ...request.headers,
            ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          },
        });
        req.once('response', resolve);
        req.once('error', reject);
        req.end(body);
      });
      if (res.statusCode! >= 200 && res.statusCode! < 300)
        this.checkContentType(url, res, request.contentTypes);
      const bytes =
        method === 'HEAD' ? Buffer.alloc(0) : await readBody(url, res, request.maxBytes ?? 5 * 1024 * 1024);
      return { status: res.statusCode!, headers: res.headers, body: bytes };
    } catch (err) {
      if (timeout.aborted && !request.signal?.aborted) {
        throw new OutboundError(`${url.href} did not answer within ${timeoutMs} ms`, 'timeout', url.href);
      }
      throw err;
    }
  }

  /** A lookup that refuses every private address, unless the URL's host:port is allowed to be private. */
  private guardedLookup(url: URL): LookupFunction {
    const allowPrivate = this.options.policy.allowsPrivate(url);
    const resolve = this.options.lookup ?? dnsLookup;
    return (hostname, options, callback) => {
      resolve(hostname, { ...options, all: true } as LookupAllOptions, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const blocked = allowPrivate
          ? undefined
          : addresses.find((a) => blockedAddressReason(a.address) !== undefined);
        if (blocked) {
          const reason = blockedAddressReason(blocked.address);
          const refused = new OutboundError(
            `refused ${url.href}: ${hostname} resolves to ${blocked.address}, which is ${reason}`,
            'refused',
            url.href,
          );
          return callback(refused, '', 0);
        }
        if ((options as { all?: boolean }).all) return (callback as AllCallback)(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
  }

  private checkContentType(url: URL, res: IncomingMessage, accepted?: readonly string[]): void {
    if (!accepted?.length) return;
    const type = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!accepted.includes(type)) {
      res.destroy();
      throw new OutboundError(
        `${url.href} answered ${type || 'no content type'}, not ${accepted.join(' or ')}`,
        'content_type',
        url.href,
      );
    }
  }
}

type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

/** Reads the (decoded) body, stopping as soon as it passes `maxBytes`: a compressed bomb cannot fill memory. */
async function readBody(url: URL, res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new OutboundError(`${url.href}: response larger than ${maxBytes} bytes`, 'too_large', url.href);
  const declared = Number(res.headers['content-length']);
  if (!res.headers['content-encoding'] && declared > maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of decoded(res)) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body stream, decompressed; a broken response also breaks the decoder, so reading it never hangs. */
function decoded(res: IncomingMessage): NodeJS.ReadableStream {
  const decoder = decoderFor(res.headers['content-encoding']);
  return decoder ? pipeline(res, decoder, () => undefined) : res;
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}
