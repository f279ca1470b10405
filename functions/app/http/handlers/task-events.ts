import { visibleOwner } from '../../../auth/caller';
import { ListEventsQuerySchema, TaskIdSchema, type EventList } from '../../../contract/api-schemas';
import { badRequest, handler, type HandlerOptions } from '../handle';
import { json } from '../responses';
import { wantsEventStream } from '../sse';
import { streamTaskEvents } from './task-event-stream';
import { parseQuery } from '../query';
import { eventJson } from '../../../events/event-json';
import { notFound } from './read-tasks';

/** A stream token opens the task's SSE stream, never its JSON history. */
const taskStreamOnly: HandlerOptions = {
  streamScope: (request) =>
    wantsEventStream(request.headers.get('accept')) ? { taskId: request.params.id } : undefined,
};

/** GET /api/tasks/{id}/events (JSON): the persisted history, oldest first, paged with `?after=<seq>`. */
export const listTaskEvents = handler(async (scope) => {
  const { request, services, caller } = scope;
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  if (wantsEventStream(request.headers.get('accept'))) return streamTaskEvents(scope, id.data);
  const query = parseQuery(request, ListEventsQuerySchema);
  if (!query.ok) return query.response;
  const { after, limit } = query.value;
  const rows = await services.tasks.events(visibleOwner(caller), id.data, after, limit);
  if (!rows) return notFound(id.data);
  const last = rows[rows.length - 1];
  return json<EventList>(200, {
    items: rows.map(eventJson),
    nextCursor: rows.length === limit && last ? String(last.seq) : null,
  });
}, taskStreamOnly);
