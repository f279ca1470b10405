import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { SSE_HEADERS } from '../functions/app/http/sse';
import { eventChannels } from '../functions/events/event-json';

/**
 * The SSE baseline of the progress and fan-out benchmarks: a bare `node:http` SSE server on the same Redis channel as
 * Longhaul's task stream. One subscriber, one frame built and encoded once per message and written to every open
 * response; no framework, no database, no dedup. Usage: `node bare-sse-server.js <redis-url> <redis-namespace>`; prints its URL once
 * listening.
 */
async function main(): Promise<void> {
  const subscriber = new Redis(process.argv[2]);
  const taskChannel = eventChannels(process.argv[3]).task;
  const channels = new Map<string, { responses: Set<ServerResponse>; subscribed: Promise<unknown> }>();

  subscriber.on('message', (channel: string, message: string) => {
    const responses = channels.get(channel)?.responses;
    if (!responses) return;
    const { type, seq } = JSON.parse(message) as { type: string; seq: number };
    const frame = Buffer.from(`event: ${type}\nid: ${seq}\ndata: ${message}\n\n`);
    for (const res of responses) res.write(frame);
  });

  const server = createServer((req, res) => {
    const id = /^\/api\/tasks\/([^/]+)\/events$/.exec(req.url ?? '')?.[1];
    if (!id) return void res.writeHead(404).end();
    const name = taskChannel(id);
    res.writeHead(200, SSE_HEADERS);
    res.write('retry: 2000\n\n');
    let channel = channels.get(name);
    if (!channel) {
      channel = { responses: new Set(), subscribed: subscriber.subscribe(name) };
      channels.set(name, channel);
    }
    const { responses, subscribed } = channel;
    responses.add(res);
    res.on('close', () => {
      responses.delete(res);
      if (responses.size > 0 || channels.get(name)?.responses !== responses) return;
      channels.delete(name);
      void subscriber.unsubscribe(name);
    });
    // Like Longhaul's snapshot, the first event says the stream is subscribed, so nothing published after it is lost.
    void subscribed.then(() => res.write('event: snapshot\ndata: {}\n\n'));
  });
  // Streams stay open for the whole benchmark.
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  process.once('SIGTERM', () => {
    subscriber.disconnect();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
