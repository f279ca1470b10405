import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** From now on, bytes in either direction vanish, as on a network that drops every packet. */
  blackhole(): void;
  /**
   * Back to forwarding. Connections that lost bytes are cut, as TCP would once its retransmissions time out; new
   * ones work again.
   */
  heal(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy toward `targetPort` that the suite can break: a fault on the path to one dependency. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let dropping = false;
  const open = new Set<Socket>();
  const damaged = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      open.add(from);
      from.on('data', (chunk: Buffer) => {
        if (!dropping) to.write(chunk);
        else damaged.add(client).add(upstream);
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
    heal: () => {
      dropping = false;
      for (const socket of damaged) socket.destroy();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
