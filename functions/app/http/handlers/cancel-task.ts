import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { json, problem } from '../responses';
import { taskJson } from '../../../contract/task-json';
import { notFound } from './read-tasks';

/** DELETE /api/tasks/{id}: a queued or waiting task is cancelled at once; a running one is asked to stop. */
export const cancelTask = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const outcome = await services.tasks.cancel(visibleOwner(caller), id.data);
  switch (outcome.kind) {
    case 'notFound':
      return notFound(id.data);
    case 'finished':
      return problem(409, 'task-finished', `Task ${id.data} has already ${outcome.task.status}.`, {
        taskStatus: outcome.task.status,
      });
    case 'requested':
      return json(202, taskJson(outcome.task), { location: `/api/tasks/${id.data}` });
  }
});
