import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { problem } from '../responses';
import { notFound } from './read-tasks';
import { idempotencyKeyOf, submitFailure, submitted, traceparentOf } from './submit-task';

/**
 * POST /api/tasks/{id}/rerun: a new task with the same type, input and callback URL, linked by `rerunOf`; answered as
 * a submit is (202, Location, Retry-After; 200 for a replay under the same Idempotency-Key).
 */
export const rerunTask = handler(
  async ({ request, services, caller }) => {
    const id = TaskIdSchema.safeParse(request.params.id);
    if (!id.success) return badRequest('id', 'must be a UUID');
    const idempotencyKey = idempotencyKeyOf(request);
    if (typeof idempotencyKey === 'object') return idempotencyKey;
    try {
      const outcome = await services.actions.rerun(visibleOwner(caller), id.data, {
        idempotencyKey,
        traceparent: traceparentOf(request.headers.get('traceparent')),
        activeLimit: services.settings.rateLimits.activeTasks,
      });
      if (outcome.kind === 'notFound') return notFound(id.data);
      if (outcome.kind === 'inputGone') {
        return problem(
          410,
          'input-gone',
          `The input of task ${id.data} is no longer in storage: it cannot be rerun.`,
          {
            taskStatus: outcome.task.status,
          },
        );
      }
      return submitted(outcome.task, outcome.replayed);
    } catch (err) {
      return submitFailure(err);
    }
  },
  { limit: 'submit' },
);
