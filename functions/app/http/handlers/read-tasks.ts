import { visibleOwner } from '../../../auth/caller';
import type { z } from 'zod';
import {
  ListTasksQuerySchema,
  TaskCountsQuerySchema,
  TaskIdSchema,
  type TaskCounts,
  type TaskFilterSchema,
  type TaskList,
} from '../../../contract/api-schemas';
import type { TaskFilter } from '../../../storage/task-repository';
import { badRequest, handler } from '../handle';
import { decodeCursor, encodeCursor } from '../list-cursor';
import { json, POLL_RETRY_AFTER_SECONDS, problem } from '../responses';
import { parseQuery } from '../query';
import { taskJson } from '../../../contract/task-json';
import { isFinished } from '../../../model/task';

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

/** A filter as the API takes it (a query or a bulk body), for the tasks `owner` may see (undefined: any owner's). */
export function taskFilter(owner: string | undefined, query: z.output<typeof TaskFilterSchema>): TaskFilter {
  const date = (v: string | undefined) => (v === undefined ? undefined : new Date(v));
  return {
    owner,
    status: query.status,
    type: query.type,
    idPrefix: query.idPrefix,
    createdAfter: date(query.createdAfter),
    createdBefore: date(query.createdBefore),
  };
}

/** GET /api/tasks?status=&type=&idPrefix=&createdAfter=&createdBefore=&limit=&cursor= newest first, keyset-paged. */
export const listTasks = handler(async ({ request, services, caller }) => {
  const query = parseQuery(request, ListTasksQuerySchema);
  if (!query.ok) return query.response;
  const { limit, cursor } = query.value;
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && !after) return badRequest('cursor', 'not a cursor from a previous page');
  const rows = await services.tasks.list({ ...taskFilter(visibleOwner(caller), query.value), limit, after });
  const last = rows[rows.length - 1];
  return json<TaskList>(200, {
    items: rows.map(taskJson),
    nextCursor: rows.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
  });
});

/** GET /api/tasks/counts?type=&idPrefix=&createdAfter=&createdBefore= how many tasks are in each status. */
export const countTasks = handler(async ({ request, services, caller }) => {
  const query = parseQuery(request, TaskCountsQuerySchema);
  if (!query.ok) return query.response;
  const byStatus = await services.tasks.counts(taskFilter(visibleOwner(caller), query.value));
  const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
  return json<TaskCounts>(200, { total, byStatus });
});

export function notFound(id: string) {
  return problem(404, 'task-not-found', `No task ${id}.`, { field: 'id' });
}
