import { TaskIdSchema } from '../../../contract/api-schemas';
import { adminHandler } from '../admin-access';
import { badRequest } from '../handle';
import { json, problem } from '../responses';
import { taskJson } from '../../../contract/task-json';
import { notFound } from './read-tasks';

/** POST /api/admin/tasks/{id}/retry: re-drives a failed (and dead-lettered) task from its last checkpoint. */
export const retryTask = adminHandler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const outcome = await services.admin.retry(id.data, caller.id);
  switch (outcome.kind) {
    case 'notFound':
      return notFound(id.data);
    case 'notFailed':
      return problem(
        409,
        'task-not-failed',
        `Task ${id.data} is ${outcome.task.status}: only a failed task can be retried.`,
        { taskStatus: outcome.task.status },
      );
    case 'requeued':
      return json(202, taskJson(outcome.task), { location: `/api/tasks/${id.data}` });
  }
});
