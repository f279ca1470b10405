import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpResponse } from '@azure/functions';
import type { HttpTrigger } from '../../functions/app/trigger-types';
import { InFlight } from './in-flight';
import { toHttpRequest, requestUrl } from './http-request';
import {
  internalErrorResponse,
  isStreamingBody,
  pipeStreamingBody,
  writeBufferedBody,
  writeHead,
} from './http-response';
import {
  describeError,
  logExecuted,
  newInvocationContext,
  SHUTDOWN_GRACE_MS,
  type LogSink,
} from './invocation';
import { Router, splitPath } from '../../functions/app/http/routes';

/** Kestrel's MaxRequestHeadersTotalSize, as on Azure. */
const MAX_REQUEST_HEADER_BYTES = 32 * 1024;

export interface HttpServerOptions {
  triggers: readonly HttpTrigger[];
  port: number;
  host: string;
  routePrefix: string;
  log: LogSink;
}

export interface RunningHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the HTTP triggers; throws before listening when the route table is invalid. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { log, routePrefix } = options;
  const router = new Router(options.triggers.map((t) => ({ route: t.route, methods: t.methods, value: t })));
  const inFlight = new InFlight();
  /** Open streaming responses (SSE), stopped at shutdown: they would otherwise hold it for minutes. */
  const streams = new Set<() => void>();
  let closing = false;
  let fallbackHost = options.host;

  const invoke = async (
    trigger: HttpTrigger,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    params: Record<string, string>,
  ): Promise<void> => {
    const context = newInvocationContext(trigger.name, log, {
      type: 'httpTrigger',
      name: 'request',
      route: trigger.route,
      methods: trigger.methods,
    });
    const startedAt = performance.now();
    let response: HttpResponse;
    let streaming = false;
    let failure: unknown;
    try {
      const init = await trigger.handler(toHttpRequest(req, url, params), context);
      // Handlers may also return an HttpResponse, as the library's own types allow.
      response = init instanceof HttpResponse ? init : new HttpResponse(init);
      streaming = isStreamingBody(init);
    } catch (error) {
      failure = error;
      response = internalErrorResponse(context.invocationId);
    }
    logExecuted(
      log,
      context,
      startedAt,
      failure,
      ` ${req.method} ${url.pathname}${url.search} ${response.status}`,
    );
    writeHead(res, response);
    // Answered before the request body arrived (a 401, 413 or 415 that reads none): the rest of it would hold up the
    // next request on this connection, so the connection ends with this response.
    if (!req.complete) res.setHeader('connection', 'close');
    if (!streaming) return writeBufferedBody(res, response);
    const pipe = pipeStreamingBody(res, response, (error) =>
      log(`${trigger.name}: response stream failed: ${describeError(error)}`),
    );
    streams.add(pipe.stop);
    try {
      await pipe.done;
    } finally {
      streams.delete(pipe.stop);
    }
  };

  // Azure's front end (Kestrel) takes up to 32 KiB of request headers and leaves the app's MAX_HEADER_BYTES (at most
  // that) to answer with a 431 problem; Node's default (16 KiB) would cut in first with a bare 431.
  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, (req, res) => {
    if (closing) {
      res
        .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
        .end('Shutting down');
      return;
    }
    const url = requestUrl(req, fallbackHost);
    const segments = splitPath(url.pathname, routePrefix);
    const match = segments ? router.match(req.method ?? 'GET', segments) : ({ kind: 'notFound' } as const);
    if (match.kind === 'found') {
      inFlight.track(invoke(match.value, req, res, url, match.params)).catch((error: unknown) => {
        log(`${match.value.name}: writing the response failed: ${describeError(error)}`);
        res.destroy();
      });
    } else if (match.kind === 'methodNotAllowed') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: match.allow.join(', ') });
      res.end('Method Not Allowed');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found');
    }
  });
  // SSE responses stay open for minutes, so no request deadline; idle keep-alive sockets go after 5 s.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log(`HTTP server error: ${describeError(error)}`));
  const port = (server.address() as AddressInfo).port;
  fallbackHost = `${options.host}:${port}`;

  return {
    port,
    close: async () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const stop of streams) stop();
      if (!(await inFlight.drain(SHUTDOWN_GRACE_MS))) {
        log(
          `HTTP: ${inFlight.size} request(s) still running after ${SHUTDOWN_GRACE_MS} ms; closing their connections`,
        );
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
