import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookDelivery {
  headers: IncomingHttpHeaders;
  /** The raw body, as signed: verify it before parsing it. */
  body: string;
  receivedAt: number;
}

export interface WebhookListener {
  /** e.g. `127.0.0.1:8787`: where the tunnel behind `--webhook-url` must forward to. */
  readonly address: string;
  /** The delivery of this task (by its `Longhaul-Delivery` header), once it arrives. */
  delivery(taskId: string, signal: AbortSignal): Promise<WebhookDelivery>;
  /** How many POSTs arrived, for the task or not (a tunnel that reaches the wrong place shows as 0). */
  count(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A receiver for completion webhooks on `host:port` (`--webhook-listen`). It records every POST and answers 200
 * whatever the signature: the check reports a bad signature, and a refusal would only make the server retry for hours.
 */
export async function startWebhookListener(listen: string): Promise<WebhookListener> {
  const { host, port } = parseListen(listen);
  const deliveries: WebhookDelivery[] = [];
  const waiting = new Set<() => void>();
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return void res.writeHead(413).end();
      deliveries.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      for (const wake of waiting) wake();
    });
  });
  server.listen(port, host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err as Error)),
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot listen for webhooks on ${listen}: ${code}`);
  }
  const bound = server.address() as AddressInfo;
  const find = (taskId: string) => deliveries.find((d) => d.headers['longhaul-delivery'] === taskId);
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    count: () => deliveries.length,
    delivery: (taskId, signal) =>
      new Promise((resolve, reject) => {
        const aborted = () => {
          waiting.delete(check);
          reject(signal.reason as Error);
        };
        const check = () => {
          const found = find(taskId);
          if (!found) return;
          waiting.delete(check);
          signal.removeEventListener('abort', aborted);
          resolve(found);
        };
        signal.addEventListener('abort', aborted, { once: true });
        waiting.add(check);
        check();
      }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** `8787`, `127.0.0.1:8787`, `[::1]:8787` or `0.0.0.0:8787`; the host defaults to loopback. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(listen.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`--webhook-listen: expected [host:]port, not '${listen}'`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}
