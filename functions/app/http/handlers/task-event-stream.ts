import { visibleOwner } from '../../../auth/caller';
import type { HttpResponseInit } from '@azure/functions';
import { TaskEventStream } from '../../../events/task-event-stream';
import { badRequest, type RequestScope } from '../handle';
import { eventStreamResponse } from '../sse';
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
  return eventStreamResponse(
    services,
    context,
    `event stream of task ${id}`,
    (deps) => new TaskEventStream(task, lastEventId, deps),
  );
}
