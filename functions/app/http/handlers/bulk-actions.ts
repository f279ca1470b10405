import { visibleOwner } from '../../../auth/caller';
import { BulkActionSchema, type BulkResult } from '../../../contract/api-schemas';
import type { BulkAction } from '../../../engine/task-actions';
import { fieldErrors } from '../../../engine/task-service';
import { handler, type RequestScope } from '../handle';
import { invalidFields, json } from '../responses';
import { taskFilter } from './read-tasks';

/** A bulk request's body is a filter and a limit: small. */
const MAX_BULK_BODY_BYTES = 16 * 1024;

/**
 * Cancels or retries the tasks a filter covers, up to `limit` per call, oldest first: the caller's own tasks, or any
 * owner's for admins. Each task goes through the single-task action; `more` says to call again.
 */
function bulk(action: BulkAction) {
  return async ({ readJson, services, caller }: RequestScope) => {
    const body = await readJson(MAX_BULK_BODY_BYTES);
    if (!body.ok) return body.response;
    const parsed = BulkActionSchema.safeParse(body.value);
    if (!parsed.success) return invalidFields('invalid-bulk-action', fieldErrors(parsed.error, ''));
    const filter = taskFilter(visibleOwner(caller), parsed.data.filter);
    const outcome = await services.actions.bulk(action, filter, parsed.data.limit, caller.id);
    return json<BulkResult>(200, outcome);
  };
}

/** POST /api/tasks/bulk/cancel */
export const bulkCancel = handler(bulk('cancel'), { limit: 'submit' });

/** POST /api/tasks/bulk/retry */
export const bulkRetry = handler(bulk('retry'), { limit: 'submit' });
