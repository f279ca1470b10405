import { visibleOwner } from '../../../auth/caller';
import type { HttpResponseInit } from '@azure/functions';
import { DEFAULT_TIMINGS } from '../../../events/event-stream-base';
import { TaskEventStream } from '../../../events/task-event-stream';
import { badRequest, type RequestScope } from '../handle';
import { sseResponse, streamLog } from '../sse';
import { taskJson } from '../../../contract/task-json';
import { notFound } from './read-tasks';

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
  const task = await services.tasks.get(visibleOwner(caller), id);
  if (!task) return notFound(id);
  const timings = { ...DEFAULT_TIMINGS, maxDurationMs: services.settings.sseMaxSeconds * 1000 };
  return sseResponse(
    (sink) =>
      new TaskEventStream(
        task,
        lastEventId,
        { tasks: services.repository, events: services.taskEvents },
        services.subscriptions,
        taskJson,
        sink,
        timings,
      ),
    streamLog(context, `event stream of task ${id}`),
  );
}
