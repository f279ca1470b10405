import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTcpProxy, type TcpProxy } from '../../chaos/tcp-proxy';

/** An echo server: what the proxy forwards to it comes straight back. */
async function startEcho(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** Sends one byte and waits for its echo, `count` times in a row: the round-trip times in ms. */
async function pingPong(socket: Socket, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const echoed = once(socket, 'data');
    socket.write('x');
    await echoed;
    times.push(performance.now() - started);
  }
  return times;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

describe('the latency-injecting TCP proxy', () => {
  let echo: { server: Server; port: number };
  let proxy: TcpProxy;
  let socket: Socket;

  before(async () => {
    echo = await startEcho();
    proxy = await startTcpProxy(echo.port);
    socket = connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
  });

  after(async () => {
    socket.destroy();
    await proxy.close();
    echo.server.close();
  });

  // A tolerance on the proxy itself (timers fire up to a millisecond late; a loaded machine adds more above), so the
  // benchmarks' latency model adds what docs/performance.md says it does.
  it('adds twice its one-way delay to a round trip, plus at most twice the jitter, and never less', async () => {
    proxy.delay(5, 2);
    const times = await pingPong(socket, 40);
    assert.ok(Math.min(...times) >= 9.5, `a round trip took ${Math.min(...times)} ms, under 2 × 5 ms`);
    // Mean added jitter is 2 × 1 ms: the median sits near 12 ms.
    assert.ok(median(times) <= 12 + 6, `median round trip ${median(times)} ms, far over 12 ms`);
  });

  it('forwards at once with no delay set', async () => {
    proxy.delay(0);
    const times = await pingPong(socket, 40);
    assert.ok(median(times) < 5, `median round trip ${median(times)} ms with no delay`);
  });

  it('keeps bytes in order whatever the jitter draws', async () => {
    proxy.delay(1, 10);
    const sent = Array.from({ length: 300 }, (_, i) => `${i},`).join('');
    let received = '';
    const done = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        received += chunk.toString();
        if (received.length >= sent.length) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
    // One write per number, so each is a chunk of its own with its own jitter.
    for (let i = 0; i < 300; i++) {
      socket.write(`${i},`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    assert.equal(received, sent);
  });

  it('delivers what a server wrote just before closing, then the close', async () => {
    const farewell = createServer((conn) => conn.end('bye'));
    farewell.listen(0, '127.0.0.1');
    await once(farewell, 'listening');
    const closing = await startTcpProxy((farewell.address() as { port: number }).port);
    closing.delay(20);
    const client = connect(closing.port, '127.0.0.1');
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await once(client, 'end');
    assert.equal(received, 'bye');
    client.destroy();
    await closing.close();
    farewell.close();
  });
});
