import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { problem, streamedJson } from '../responses';
import { notFound } from './read-tasks';

/** GET /api/tasks/{id}/input: the input the task was accepted with, streamed from its claim-check blob. */
export const getTaskInput = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const outcome = await services.tasks.openInput(visibleOwner(caller), id.data);
  if (outcome.kind === 'notFound') return notFound(id.data);
  if (outcome.kind === 'gone') {
    return problem(410, 'input-gone', `The input of task ${id.data} is no longer in storage.`, {
      taskStatus: outcome.task.status,
    });
  }
  return streamedJson(outcome);
});
