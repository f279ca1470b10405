import { CreateStreamTokenSchema, type StreamToken } from '../../../contract/api-schemas';
import { visibleOwner } from '../../../auth/caller';
import { handler } from '../handle';
import { invalidFields, json, problem } from '../responses';
import { fieldErrors } from '../../../engine/task-service';
import { notFound } from './read-tasks';

/**
 * POST /api/stream-tokens `{taskId?}`: a five-minute token that opens one SSE URL — the task's events, or without
 * `taskId` the caller's multiplexed stream — for browsers, whose EventSource cannot send an Authorization header.
 */
export const createStreamToken = handler(async ({ readJson, services, caller }) => {
  if (services.settings.authMode === 'none') {
    return problem(404, 'stream-tokens-off', 'AUTH_MODE=none: the event streams need no token.');
  }
  const body = await readJson(4 * 1024);
  if (!body.ok) return body.response;
  const parsed = CreateStreamTokenSchema.safeParse(body.value);
  if (!parsed.success) return invalidFields('invalid-stream-token', fieldErrors(parsed.error, ''));
  const { taskId } = parsed.data;
  if (taskId !== undefined && !(await services.tasks.get(visibleOwner(caller), taskId)))
    return notFound(taskId);
  const { token, expiresAt } = await services.auth.streamTokens.issue(
    { owner: caller.id, role: caller.role },
    { taskId },
  );
  return json<StreamToken>(
    201,
    { token, expiresAt: expiresAt.toISOString() },
    { 'cache-control': 'no-store' },
  );
});
