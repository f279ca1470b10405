import { ListEventsQuerySchema, TaskIdSchema } from '../api-schemas';
import { badRequest, handler } from '../handle';
import { json, problem } from '../responses';
import { queryObject } from '../query';
import { eventJson } from '../task-json';
import { notFound } from './read-tasks';

/** GET /api/tasks/{id}/events (JSON): the persisted history, oldest first, paged with `?after=<seq>`. */
export const listTaskEvents = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  if ((request.headers.get('accept') ?? '').includes('text/event-stream')) {
    // The live stream comes with the live-progress work; until then this route answers JSON only.
    return problem(406, 'not-acceptable', 'This endpoint serves application/json.', { field: 'accept' });
  }
  const query = ListEventsQuerySchema.safeParse(queryObject(request));
  if (!query.success) {
    const issue = query.error.issues[0];
    return badRequest(issue.path.join('.') || 'query', issue.message);
  }
  const { after, limit } = query.data;
  const rows = await services.tasks.events(caller.id, id.data, after, limit);
  if (!rows) return notFound(id.data);
  const last = rows[rows.length - 1];
  return json(200, {
    items: rows.map(eventJson),
    nextCursor: rows.length === limit && last ? String(last.seq) : null,
  });
});
