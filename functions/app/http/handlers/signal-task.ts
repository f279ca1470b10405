import type { HttpResponseInit } from '@azure/functions';
import { visibleOwner } from '../../../auth/caller';
import { MAX_SIGNAL_BYTES, SignalNameSchema, TaskIdSchema, type Signal } from '../../../contract/api-schemas';
import { badRequest, handler, publicHandler, type HttpHandler, type PublicScope } from '../handle';
import { invalidFields, json, problem } from '../responses';
import { notFound } from './read-tasks';
import { idempotencyKeyOf } from './submit-task';

/**
 * Delivers a signal as `owner` (undefined: any owner's task) on behalf of `sender`: 202 when kept, 200 for a repeat of
 * the signal kept before, 422 naming the field that fails the type's schema (nothing is kept; the task keeps waiting).
 */
async function deliver(
  { request, services, readJson }: PublicScope,
  owner: string | undefined,
  sender: string,
): Promise<HttpResponseInit> {
  const id = TaskIdSchema.safeParse(request.params.id);
  if (!id.success) return badRequest('id', 'must be a UUID');
  const name = SignalNameSchema.safeParse(request.params.name);
  if (!name.success) return badRequest('name', name.error.issues[0].message);
  const idempotencyKey = idempotencyKeyOf(request);
  if (typeof idempotencyKey === 'object') return idempotencyKey;
  const body = await readJson(MAX_SIGNAL_BYTES);
  if (!body.ok) return body.response;
  const outcome = await services.signals.deliver({
    owner,
    taskId: id.data,
    name: name.data,
    payload: body.value,
    sender,
    idempotencyKey,
  });
  switch (outcome.kind) {
    case 'notFound':
      return notFound(id.data);
    case 'unknownSignal':
      return problem(
        404,
        'unknown-signal',
        `Tasks of type ${outcome.task.type} take no signal "${name.data}" (${outcome.known.length > 0 ? `they take: ${outcome.known.join(', ')}` : 'they take none'}).`,
        { field: 'name' },
      );
    case 'invalid':
      return invalidFields('invalid-signal', outcome.errors);
    case 'finished':
      return problem(
        409,
        'task-finished',
        `Task ${id.data} is ${outcome.task.status}: it takes no more signals.`,
        {
          taskStatus: outcome.task.status,
        },
      );
    case 'conflict':
      return problem(
        409,
        'signal-conflict',
        `Task ${id.data} kept a different signal "${name.data}" at ${outcome.signal.receivedAt.toISOString()}: the first one counts.`,
        { field: 'payload' },
      );
    case 'delivered':
      return json<Signal>(outcome.duplicate ? 200 : 202, {
        taskId: id.data,
        name: name.data,
        payload: outcome.signal.payload,
        receivedAt: outcome.signal.receivedAt.toISOString(),
        duplicate: outcome.duplicate,
        taskStatus: outcome.task.status,
      });
  }
}

const signalAsCaller = handler((scope) => deliver(scope, visibleOwner(scope.caller), scope.caller.id), {
  limit: 'submit',
});

/** With a signal link's token (ctx.signalUrl): no API key, but only this task's signal of this name. */
const signalByLink = publicHandler(async (scope) => {
  const token = new URL(scope.request.url).searchParams.get('token') ?? '';
  const { id, name } = scope.request.params;
  if (!id || !name || !(await scope.services.signalLinks.verify(id, name, token))) {
    return problem(403, 'invalid-signal-link', 'This link does not deliver this signal to this task.');
  }
  return deliver(scope, undefined, 'link');
});

/** POST /api/tasks/{id}/signals/{name}: by the task's owner, an admin, or the holder of the task's signal link. */
export const signalTask: HttpHandler = (request, context) =>
  new URL(request.url).searchParams.has('token')
    ? signalByLink(request, context)
    : signalAsCaller(request, context);
