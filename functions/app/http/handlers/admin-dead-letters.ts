import {
  DeadLetterQuerySchema,
  SequenceNumberSchema,
  type DeadLetterList,
} from '../../../contract/api-schemas';
import { adminHandler } from '../admin-access';
import { badRequest } from '../handle';
import { parseQuery } from '../query';
import { json, problem } from '../responses';

/** GET /api/admin/dead-letters?limit=: the oldest dead letters of the tasks queue, peeked (nothing is locked). */
export const listDeadLetters = adminHandler(async ({ request, services }) => {
  const query = parseQuery(request, DeadLetterQuerySchema);
  if (!query.ok) return query.response;
  return json<DeadLetterList>(200, { items: await services.admin.deadLetters(query.value.limit) });
});

/** DELETE /api/admin/dead-letters/{sequenceNumber}: removes that dead letter for good. */
export const deleteDeadLetter = adminHandler(async ({ request, services }) => {
  const sequenceNumber = SequenceNumberSchema.safeParse(request.params.sequenceNumber);
  if (!sequenceNumber.success) return badRequest('sequenceNumber', sequenceNumber.error.issues[0].message);
  const n = sequenceNumber.data;
  switch (await services.admin.removeDeadLetter(n)) {
    case 'removed':
      return { status: 204, headers: { 'cache-control': 'no-store' } };
    case 'notFound':
      return problem(404, 'dead-letter-not-found', `No dead letter with sequence number ${n}.`, {
        field: 'sequenceNumber',
      });
    case 'locked':
      return problem(
        409,
        'dead-letter-locked',
        `Dead letter ${n} is held by another receiver; try again when its lock expires.`,
        { field: 'sequenceNumber' },
        { 'retry-after': '60' },
      );
  }
});
