import type { HttpResponseInit } from '@azure/functions';
import { DEFAULT_TIMINGS, TaskEventStream, type StreamSink } from '../../progress/task-event-stream';
import { badRequest, type RequestScope } from '../handle';
import { SSE_HEADERS, sseComment, sseEvent } from '../sse';
import { taskJson } from '../task-json';
import { notFound } from './read-tasks';

const encoder = new TextEncoder();

/** GET /api/tasks/{id}/events with `Accept: text/event-stream`: the task's live stream (design §3). */
export async function streamTaskEvents(
  { request, services, caller, context }: RequestScope,
  id: string,
): Promise<HttpResponseInit> {
  const raw = request.headers.get('last-event-id') ?? request.query.get('lastEventId');
  const lastEventId = raw === null || raw === '' ? undefined : Number(raw);
  if (lastEventId !== undefined && (!Number.isInteger(lastEventId) || lastEventId < 0)) {
    return badRequest('Last-Event-ID', 'must be a sequence number (a non-negative integer)');
  }
  const task = await services.tasks.get(caller.id, id);
  if (!task) return notFound(id);
  let stream: TaskEventStream | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      const sink: StreamSink = {
        retry: (ms) => send(`retry: ${ms}\n\n`),
        event: (type, data, eventId) => send(sseEvent(type, data, eventId)),
        comment: (text) => send(sseComment(text)),
        close: () => {
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        },
      };
      stream = new TaskEventStream(
        task,
        lastEventId,
        services.repository,
        services.subscriptions,
        taskJson,
        sink,
        {
          ...DEFAULT_TIMINGS,
          maxDurationMs: services.settings.sseMaxSeconds * 1000,
        },
      );
      stream.start().catch((err: unknown) => {
        context.error(`event stream of task ${id} failed: ${String(err)}`);
        stream?.stop();
      });
    },
    cancel() {
      stream?.stop();
    },
  });
  return { status: 200, headers: SSE_HEADERS, body };
}
