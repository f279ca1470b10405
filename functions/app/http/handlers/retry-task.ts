import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema } from '../../../contract/api-schemas';
import { taskJson } from '../../../contract/task-json';
import { adminHandler } from '../admin-access';
import { badRequest, handler, type RequestScope } from '../handle';
import { json, problem } from '../responses';
import { notFound } from './read-tasks';

/**
 * Re-drives a failed task from its last checkpoint: completed steps are replayed, not run again, so the task resumes
 * at the step that failed. `owner` undefined: any owner's task.
 */
async function retry({ request, services, caller }: RequestScope, owner: string | undefined) {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const outcome = await services.actions.retry(owner, id.data, caller.id);
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
}

/** POST /api/tasks/{id}/retry: the owner's (or an admin's) retry of a failed task. */
export const retryTask = handler((scope) => retry(scope, visibleOwner(scope.caller)), {
  limit: 'submit',
});

/** POST /api/admin/tasks/{id}/retry: the same, kept for operators' scripts written against the admin API. */
export const adminRetryTask = adminHandler((scope) => retry(scope, undefined));
