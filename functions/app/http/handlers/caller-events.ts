import { CallerEventStream } from '../../../events/caller-event-stream';
import { visibleOwner } from '../../../auth/caller';
import { handler } from '../handle';
import { problem } from '../responses';
import { eventStreamResponse, wantsEventStream } from '../sse';

/** GET /api/events: one SSE connection carrying every event of the caller's tasks, or every task for admins (design §3). */
export const streamCallerEvents = handler(
  async ({ request, services, caller, context }) => {
    if (!wantsEventStream(request.headers.get('accept'))) {
      return problem(406, 'not-acceptable', 'This endpoint serves text/event-stream only.', {
        field: 'accept',
      });
    }
    return eventStreamResponse(
      services,
      context,
      `event stream of caller ${caller.id}`,
      (deps) => new CallerEventStream(visibleOwner(caller), deps),
    );
  },
  { streamScope: () => ({}) },
);
