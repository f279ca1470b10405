import { visibleOwner } from '../../../auth/caller';
import { TaskIdSchema, type TaskStepList } from '../../../contract/api-schemas';
import { badRequest, handler } from '../handle';
import { json } from '../responses';
import { notFound } from './read-tasks';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** GET /api/tasks/{id}/steps: the task's named steps in the order they started, with status, attempts and timings. */
export const getTaskSteps = handler(async ({ request, services, caller }) => {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const found = await services.steps.of(visibleOwner(caller), id.data);
  if (!found) return notFound(id.data);
  return json<TaskStepList>(200, {
    taskId: found.task.id,
    status: found.task.status,
    items: found.steps.map((step) => ({
      ...step,
      startedAt: iso(step.startedAt),
      finishedAt: iso(step.finishedAt),
      durationMs: step.durationMs === null ? null : Math.round(step.durationMs),
    })),
  });
});
