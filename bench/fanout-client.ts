import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { eventChannels, eventJson } from '../functions/events/event-json';
import { monotonicUs } from './cpu-profile';
import { cpuMsOf } from './processes';

/** What the parent asks of one session: one server, one task, N streams. */
export interface FanoutClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:7071. */
  url: string;
  taskId: string;
  redisUrl: string;
  /** The app's REDIS_NAMESPACE, which names the task's channel. */
  redisNamespace: string;
  streams: number;
  /** Published events take seq numbers after this one (the task's snapshot seq), so the stream's dedup passes them. */
  seqStart: number;
  openConcurrency: number;
  /** Steady publishing rates (events/s) at which latency is measured, each for `latencySeconds`. */
  latencyRates: number[];
  latencySeconds: number;
  burstEvents: number;
  bursts: number;
  /** The server's process, whose memory and CPU time are read from /proc. */
  serverPid: number;
  /** How long every stream may take to get every event of a phase. */
  waitMs: number;
}

export interface Latency {
  /** Events published per second, each to every stream. */
  rate: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server CPU time per delivered event; events this far apart are written one at a time, not batched. */
  serverCpuUsPerFrame: number;
  /** When the phase ran, on the machine's monotonic clock in µs (the clock of CPU profiles). */
  windowUs: [number, number];
}

export interface FanoutClientResult {
  streams: number;
  openSeconds: number;
  /** The server's resident memory with every stream open. */
  serverRssOpenMb: number;
  /** What each stream after the first added to it (the first also loads and connects what the server uses). */
  serverRssPerStreamKb: number;
  latency: Latency[];
  bursts: Array<{ events: number; frames: number; seconds: number; framesPerSecond: number }>;
  /** Median of the bursts: events delivered to clients per second (one event to one stream counts one). */
  framesPerSecond: number;
  /** Server CPU time per delivered event during the bursts. */
  serverCpuUsPerFrame: number;
  /** This client's CPU time over the bursts' wall time: near 1 would mean the client, not the server, set the pace. */
  clientCpuShare: number;
}

/** Each published event carries the publisher's clock; it also marks a progress frame in the byte stream. */
const MARK = Buffer.from('"sentAt":');
const FRAME_END = Buffer.from('\n\n');
/** One read buffer for every socket (`onread`): reads are handled one at a time and nothing keeps a reference. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function serverRssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Counts progress frames over every stream, and records their latency while asked to. */
class Counter {
  received = 0;
  latencies: number[] | undefined;
  private failure: Error | undefined;
  private waiter: { target: number; resolve: () => void; reject: (err: Error) => void } | undefined;

  /** Counts the frames in `bytes[0, end)`. */
  scan(bytes: Buffer, end: number): void {
    const now = performance.now();
    for (let i = bytes.indexOf(MARK); i >= 0 && i < end; i = bytes.indexOf(MARK, i + MARK.length)) {
      this.received++;
      const at = i + MARK.length;
      this.latencies?.push(now - parseFloat(bytes.toString('latin1', at, at + 24)));
    }
    if (this.waiter && this.received >= this.waiter.target) {
      this.waiter.resolve();
      this.waiter = undefined;
    }
  }

  /** A stream ended early: its events would never arrive, so the session fails now rather than at a time-out. */
  fail(err: Error): void {
    this.failure ??= err;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  /** Resolves once `target` frames have arrived in all; rejects after `ms`. */
  until(target: number, ms: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.received >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${target - this.received} frames still missing after ${ms} ms`));
      }, ms);
      this.waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }
}

/**
 * Opens one SSE stream on a raw socket and resolves once its snapshot arrived (the server has subscribed by then).
 * The client must stay cheap next to the server: bytes are read into one shared buffer (no stream machinery, no
 * allocation per read) and scanned for the mark, not parsed. Both servers write a frame per HTTP chunk, so a read
 * normally ends with a whole frame and its chunk's CRLF; anything after that waits for the next read.
 */
function openStream(url: URL, path: string, counter: Counter, closing: () => boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let head = '';
    let inBody = false;
    let rest: Buffer | undefined;
    let ready = false;
    const onBytes = (chunk: Buffer): void => {
      let bytes = chunk;
      if (!inBody) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 200')) {
          socket.destroy();
          return reject(new Error(`stream refused: ${head.slice(0, head.indexOf('\r\n'))}`));
        }
        inBody = true;
        bytes = Buffer.from(head.slice(end + 4), 'latin1');
      } else if (rest) {
        bytes = Buffer.concat([rest, chunk]);
      }
      const end = bytes.lastIndexOf(FRAME_END);
      const from = end < 0 ? 0 : end + FRAME_END.length;
      // Copied: the shared read buffer is overwritten by the next read of any socket.
      rest = end < 0 || bytes.length - from > 2 ? Buffer.from(bytes.subarray(from)) : undefined;
      if (end < 0) return;
      if (!ready && bytes.lastIndexOf('event: snapshot', end) >= 0) {
        ready = true;
        resolve(socket);
      }
      counter.scan(bytes, end);
    };
    const socket = connect({
      port: Number(url.port),
      host: url.hostname,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          onBytes(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.on('error', (err) => {
      if (!ready) reject(err);
    });
    socket.on('close', () => {
      if (!ready) reject(new Error('stream closed before its snapshot'));
      else if (!closing()) counter.fail(new Error('a stream ended before the session did'));
    });
  });
}

/** One session: open the streams, warm up, measure latency at steady rates, then delivered events/s in bursts. */
async function run(o: FanoutClientOptions): Promise<FanoutClientResult> {
  const url = new URL(o.url);
  const path = `/api/tasks/${o.taskId}/events`;
  const counter = new Counter();
  const publisher = new Redis(o.redisUrl);
  const channel = eventChannels(o.redisNamespace).task(o.taskId);
  let seq = o.seqStart;
  const publish = () => {
    seq++;
    const data = { percent: 50, current: seq, total: 1_000_000, message: 'fan-out', step: 'bench' };
    const event = eventJson({
      taskId: o.taskId,
      seq,
      at: new Date(),
      type: 'progress',
      level: null,
      message: null,
      data: { ...data, sentAt: performance.now() },
    });
    return publisher.publish(channel, JSON.stringify(event));
  };
  /** Waits until every stream has every event published since the count stood at `since`. */
  const delivered = (events: number, since: number) => counter.until(since + events * o.streams, o.waitMs);

  const openedAt = performance.now();
  let closing = false;
  const sockets = [await openStream(url, path, counter, () => closing)];
  const serverRssBaseMb = serverRssMb(o.serverPid);
  let next = 1;
  await Promise.all(
    Array.from({ length: o.openConcurrency }, async () => {
      while (next < o.streams) {
        next++;
        sockets.push(await openStream(url, path, counter, () => closing));
      }
    }),
  );
  const openSeconds = (performance.now() - openedAt) / 1000;
  const serverRssOpenMb = serverRssMb(o.serverPid);

  // Warm-up: one burst, so both servers' hot paths are compiled before anything is measured.
  let before = counter.received;
  for (let k = 0; k < o.burstEvents; k++) void publish();
  await delivered(o.burstEvents, before);

  // Latency at steady rates: publish -> receive on one clock (this process publishes).
  const latency: Latency[] = [];
  for (const rate of o.latencyRates) {
    before = counter.received;
    counter.latencies = [];
    const events = Math.round(rate * o.latencySeconds);
    const cpu0 = cpuMsOf(o.serverPid);
    const startedAt = performance.now();
    const startedUs = monotonicUs();
    for (let k = 0; k < events; k++) {
      await delay(startedAt + (k * 1000) / rate - performance.now());
      void publish();
    }
    await delivered(events, before);
    const sorted = Float64Array.from(counter.latencies).sort();
    counter.latencies = undefined;
    latency.push({
      rate,
      samples: sorted.length,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted[sorted.length - 1],
      serverCpuUsPerFrame: ((cpuMsOf(o.serverPid) - cpu0) * 1000) / sorted.length,
      windowUs: [startedUs, monotonicUs()],
    });
  }

  // Throughput: bursts published at once (pipelined on one connection), timed until every stream has all of them.
  const bursts: FanoutClientResult['bursts'] = [];
  let serverMs = 0;
  let clientCpuUs = 0;
  let wallMs = 0;
  for (let b = 0; b < o.bursts; b++) {
    await delay(500);
    before = counter.received;
    const cpu0 = cpuMsOf(o.serverPid);
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < o.burstEvents; k++) void publish();
    await delivered(o.burstEvents, before);
    const ms = performance.now() - t0;
    const own = process.cpuUsage(own0);
    serverMs += cpuMsOf(o.serverPid) - cpu0;
    clientCpuUs += own.user + own.system;
    wallMs += ms;
    const frames = counter.received - before;
    bursts.push({ events: o.burstEvents, frames, seconds: ms / 1000, framesPerSecond: (frames * 1000) / ms });
  }
  const burstFrames = bursts.reduce((sum, b) => sum + b.frames, 0);
  const rates = bursts.map((b) => b.framesPerSecond).sort((a, b) => a - b);

  closing = true;
  for (const s of sockets) s.destroy();
  publisher.disconnect();
  return {
    streams: sockets.length,
    openSeconds,
    serverRssOpenMb,
    serverRssPerStreamKb: ((serverRssOpenMb - serverRssBaseMb) * 1024) / (o.streams - 1),
    latency,
    bursts,
    framesPerSecond: rates[Math.floor(rates.length / 2)],
    serverCpuUsPerFrame: (serverMs * 1000) / burstFrames,
    clientCpuShare: clientCpuUs / 1000 / wallMs,
  };
}

/** Runs one session (options as JSON in argv[2]) and prints its result as one JSON line. */
run(JSON.parse(process.argv[2]) as FanoutClientOptions).then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
