import type { StreamSink } from '../progress/task-event-stream';

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

/** An SSE response whose body is fed by the source that `create` builds over the SSE sink. */
export function sseResponse(
  create: (sink: StreamSink) => SseSource,
  onError: (err: unknown) => void,
): { status: number; headers: Record<string, string>; body: ReadableStream<Uint8Array> } {
  let source: SseSource | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      source = create({
        retry: (ms) => send(`retry: ${ms}\n\n`),
        event: (type, data, id) => send(sseEvent(type, data, id)),
        comment: (text) => send(sseComment(text)),
        close: () => {
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        },
      });
      source.start().catch((err: unknown) => {
        onError(err);
        source?.stop();
      });
    },
    cancel() {
      source?.stop();
    },
  });
  return { status: 200, headers: SSE_HEADERS, body };
}
