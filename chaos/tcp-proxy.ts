import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** From now on, bytes in either direction vanish, as on a network that drops every packet. */
  blackhole(): void;
  /** From now on, bytes in either direction arrive `ms` late, in order, as on a slow network. */
  delay(ms: number): void;
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
  const open = new Set<Socket>();
  const damaged = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      open.add(from);
      // When the last delayed chunk in this direction is due: a later chunk never overtakes it, even once healed.
      let lastDue = 0;
      from.on('data', (chunk: Buffer) => {
        if (dropping) {
          damaged.add(client).add(upstream);
          return;
        }
        const due = Math.max(Date.now() + delayMs, lastDue);
        if (due <= Date.now()) return void to.write(chunk);
        lastDue = due;
        setTimeout(() => to.write(chunk), due - Date.now());
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        open.delete(from);
        damaged.delete(from);
        to.destroy();
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
    delay: (ms) => {
      delayMs = ms;
    },
    heal: () => {
      dropping = false;
      delayMs = 0;
      for (const socket of damaged) socket.destroy();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
