import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers a request; `hit` counts the requests to its path so far, this one included. */
export type Route = (res: ServerResponse, hit: number) => void;

export type LocalSite = Awaited<ReturnType<typeof startLocalSite>>;

/**
 * A site for crawler tests on this machine. It records every request (when, and with which User-Agent) and counts
 * connections, so a test can prove that a page was fetched once, or that a refused address saw no connection at all.
 * A route ending in `*` answers every path that differs from it by a trailing number.
 */
export async function startLocalSite(routes: Record<string, Route>, host = '127.0.0.1') {
  const requests = new Map<string, number[]>();
  const agents = new Set<string>();
  let connections = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const at = [...(requests.get(path) ?? []), Date.now()];
    requests.set(path, at);
    agents.add(req.headers['user-agent'] ?? '');
    const route = routes[path] ?? routes[path.replace(/\d+$/, '*')];
    if (route) route(res, at.length);
    else res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
  });
  server.on('connection', () => connections++);
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    /** How many requests a path got. */
    hits: (path: string) => requests.get(path)?.length ?? 0,
    /** When each request to a path came. */
    times: (path: string) => requests.get(path) ?? [],
    agents,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

export const html = (res: ServerResponse, body = '<p>ok</p>') =>
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);

export const links = (...hrefs: string[]) => hrefs.map((h) => `<a href="${h}">${h}</a>`).join(' ');
