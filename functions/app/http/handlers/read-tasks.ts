import { visibleOwner } from '../../../auth/caller';
import { ListTasksQuerySchema, TaskIdSchema, type TaskList } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { decodeCursor, encodeCursor } from '../list-cursor';
import { json, POLL_RETRY_AFTER_SECONDS, problem } from '../responses';
import { parseQuery } from '../query';
import { taskJson } from '../../../contract/task-json';
import { isFinished, type TaskStatus } from '../../../model/task';

/** GET /api/tasks/{id}: a task still queued or running says when to poll again (Retry-After), as its 202 did. */
export const getTask = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const task = await services.tasks.get(visibleOwner(caller), id.data);
  if (!task) return notFound(id.data);
  const poll: Record<string, string> = isFinished(task.status)
    ? {}
    : { 'retry-after': String(POLL_RETRY_AFTER_SECONDS) };
  return json(200, taskJson(task), poll);
});

/** GET /api/tasks?status=&type=&limit=&cursor= newest first, keyset-paged. */
export const listTasks = handler(async ({ request, services, caller }) => {
  const query = parseQuery(request, ListTasksQuerySchema);
  if (!query.ok) return query.response;
  const { status, type, limit, cursor } = query.value;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && !after) return badRequest('cursor', 'not a cursor from a previous page');
  const rows = await services.tasks.list({
    owner: visibleOwner(caller),
    status: status as TaskStatus | undefined,
    type,
    limit,
    after,
  });
  const last = rows[rows.length - 1];
  return json<TaskList>(200, {
    items: rows.map(taskJson),
    nextCursor: rows.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
  });
});

export function notFound(id: string) {
  return problem(404, 'task-not-found', `No task ${id}.`, { field: 'id' });
}
