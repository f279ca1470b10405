import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** From now on, bytes in either direction vanish, as on a network that drops every packet. */
  blackhole(): void;
  /**
   * From now on, bytes in either direction arrive `ms` late plus up to `jitterMs` more (uniformly drawn per chunk),
   * in order, as on a slow network: a request and its answer together take 2 × `ms` longer.
   */
  delay(ms: number, jitterMs?: number): void;
  /**
   * Back to forwarding at once. Connections that lost bytes are cut, as TCP would once its retransmissions time out;
   * new ones work again. Bytes still delayed arrive when due.
   */
  heal(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy toward `targetPort` that the suite can break: a fault on the path to one dependency. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let dropping = false;
  let delayMs = 0;
  let jitterMs = 0;
  const open = new Set<Socket>();
  const damaged = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      open.add(from);
      // Delayed chunks leave in arrival order from one queue: a later chunk never overtakes one before it (jitter
      // varies the delays), even once healed.
      const due: { at: number; chunk: Buffer }[] = [];
      let timer: NodeJS.Timeout | undefined;
      // The sender closed with bytes still delayed: they arrive first, then the close, as a FIN would.
      let closing = false;
      const sendDue = () => {
        timer = undefined;
        const now = performance.now();
        while (due.length > 0 && due[0].at <= now) to.write(due.shift()!.chunk);
        if (due.length > 0) timer = setTimeout(sendDue, due[0].at - now);
        else if (closing) to.end();
      };
      from.on('data', (chunk: Buffer) => {
        if (dropping) {
          damaged.add(client).add(upstream);
          return;
        }
        if (delayMs === 0 && jitterMs === 0 && due.length === 0) return void to.write(chunk);
        const now = performance.now();
        const at = Math.max(now + delayMs + Math.random() * jitterMs, due.at(-1)?.at ?? 0);
        due.push({ at, chunk });
        timer ??= setTimeout(sendDue, at - now);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        open.delete(from);
        damaged.delete(from);
        if (due.length > 0) closing = true;
        else to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    blackhole: () => {
      dropping = true;
    },
    delay: (ms, jitter = 0) => {
      delayMs = ms;
      jitterMs = jitter;
    },
    heal: () => {
      dropping = false;
      delayMs = 0;
      jitterMs = 0;
      for (const socket of damaged) socket.destroy();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
