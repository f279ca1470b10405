import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { problem, streamedJson } from '../responses';
import { notFound } from './read-tasks';

/** GET /api/tasks/{id}/result: the result JSON, streamed from Blob. */
export const getTaskResult = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const outcome = await services.tasks.openResult(visibleOwner(caller), id.data);
  if (outcome.kind === 'notFound') return notFound(id.data);
  if (outcome.kind === 'notSucceeded') {
    return problem(
      409,
      'result-not-ready',
      `Task ${id.data} is ${outcome.task.status}; only a succeeded task has a result.`,
      {
        taskStatus: outcome.task.status,
      },
    );
  }
  return streamedJson(outcome);
});
