import { appMetrics } from '../../platform/metrics';
import type { InvocationContext } from '@azure/functions';
import { DEFAULT_TIMINGS, type StreamDeps, type StreamSink } from '../../events/event-stream-base';
import { taskJson } from '../../contract/task-json';
import type { AppServices } from '../app-services';
import { describeError } from '../../platform/describe-error';

/** Server-Sent Events framing (WHATWG HTML §9.2). */
export function sseEvent(event: string, data: unknown, id?: number): string {
  const lines = [`event: ${event}`];
  if (id !== undefined) lines.push(`id: ${id}`);
  for (const line of JSON.stringify(data).split('\n')) lines.push(`data: ${line}`);
  return `${lines.join('\n')}\n\n`;
}

export const sseComment = (text: string): string => `: ${text}\n\n`;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/** Whether the client asked for an event stream rather than JSON. */
export function wantsEventStream(accept: string | null): boolean {
  return (accept ?? '').toLowerCase().includes('text/event-stream');
}

/** A stream the SSE response drives: started once the body is read, stopped when the client goes away. */
export interface SseSource {
  start(): Promise<void>;
  stop(): void;
}

const encoder = new TextEncoder();

/**
 * Encoded frames by event object. The subscription hub hands the same event object to every stream of a channel, so
 * N streams serialize and encode a live event once, not N times (with thousands of streams that was a quarter of the
 * process's CPU). Delivered events are never changed, so the object identifies its frame.
 */
const frames = new WeakMap<object, { type: string; id: number | undefined; bytes: Uint8Array }>();

function eventBytes(type: string, data: unknown, id: number | undefined): Uint8Array {
  if (typeof data !== 'object' || data === null) return encoder.encode(sseEvent(type, data, id));
  const cached = frames.get(data);
  if (cached && cached.type === type && cached.id === id) return cached.bytes;
  const bytes = encoder.encode(sseEvent(type, data, id));
  frames.set(data, { type, id, bytes });
  return bytes;
}

/**
 * The last chunk joined from several frames. Streams of one task get the same frames (the same cached bytes) in a
 * turn, so they share one chunk: joining per stream copied a burst's bytes once for each of thousands of streams.
 */
let lastJoined: { parts: Uint8Array[]; chunk: Uint8Array } | undefined;

function joinFrames(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const last = lastJoined;
  if (last?.parts.length === parts.length && last.parts.every((part, i) => part === parts[i]))
    return last.chunk;
  const chunk = Buffer.concat(parts);
  lastJoined = { parts, chunk };
  return chunk;
}

/** Where a stream's problems go, each line prefixed with which stream it is. */
export interface StreamLog {
  error(message: string): void;
  warn(message: string): void;
}

export function streamLog(context: InvocationContext, stream: string): StreamLog {
  return {
    error: (message) => context.error(`${stream}: ${message}`),
    warn: (message) => context.warn(`${stream}: ${message}`),
  };
}

/**
 * An SSE response whose body is fed by the source that `create` builds over the SSE sink. Frames written in one turn
 * of the event loop (a burst of events from one Redis read) go out as one chunk: each chunk costs the host a read and
 * a socket write per stream, which is what bounds fan-out to thousands of streams.
 */
export function sseResponse(
  create: (sink: StreamSink) => SseSource,
  log: StreamLog,
): { status: number; headers: Record<string, string>; body: ReadableStream<Uint8Array> } {
  let source: SseSource | undefined;
  let pending: Uint8Array[] = [];
  let gone = false;
  let open = false;
  // Counted from the first read of the body to its close or cancel, whichever comes first.
  const countClosed = () => {
    if (open) appMetrics().sseOpenStreams.add(-1);
    open = false;
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      open = true;
      appMetrics().sseOpenStreams.add(1);
      const flush = () => {
        if (pending.length === 0) return;
        const chunk = joinFrames(pending);
        pending = [];
        try {
          controller.enqueue(chunk);
        } catch {
          // The client went away (the host cancelled or closed the body).
          gone = true;
          source?.stop();
        }
      };
      const send = (bytes: Uint8Array) => {
        // Throwing tells the stream the client is gone, so it stops (the Functions host gives no other signal).
        if (gone) throw new Error('the client went away');
        if (pending.push(bytes) === 1) setImmediate(flush);
      };
      source = create({
        retry: (ms) => send(encoder.encode(`retry: ${ms}\n\n`)),
        event: (type, data, id) => send(eventBytes(type, data, id)),
        comment: (text) => send(encoder.encode(sseComment(text))),
        warn: log.warn,
        close: () => {
          flush();
          gone = true;
          countClosed();
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        },
      });
      source.start().catch((err: unknown) => {
        appMetrics().sseErrors.add(1, { kind: 'stream_failed' });
        log.error(`failed: ${describeError(err)}`);
        source?.stop();
      });
    },
    cancel() {
      countClosed();
      gone = true;
      pending = [];
      source?.stop();
    },
  });
  return { status: 200, headers: SSE_HEADERS, body };
}

/**
 * A task or caller event stream as an SSE response: built over the app's stores and subscription hub, showing tasks as
 * the API does, for at most SSE_MAX_SECONDS, its problems logged under `label`.
 */
export function eventStreamResponse(
  services: AppServices,
  context: InvocationContext,
  label: string,
  create: (deps: StreamDeps) => SseSource,
): ReturnType<typeof sseResponse> {
  const timings = { ...DEFAULT_TIMINGS, maxDurationMs: services.settings.sseMaxSeconds * 1000 };
  const store = { tasks: services.repository, events: services.taskEvents };
  return sseResponse(
    (sink) => create({ store, hub: services.subscriptions, taskView: taskJson, sink, timings }),
    streamLog(context, label),
  );
}
