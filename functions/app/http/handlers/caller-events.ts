import { CallerEventStream } from '../../../events/caller-event-stream';
import { DEFAULT_TIMINGS } from '../../../events/event-stream-base';
import { visibleOwner } from '../../../auth/caller';
import { handler } from '../handle';
import { problem } from '../responses';
import { sseResponse, streamLog, wantsEventStream } from '../sse';
import { taskJson } from '../../../contract/task-json';

/** GET /api/events: one SSE connection carrying every event of the caller's tasks, or every task for admins (design §3). */
export const streamCallerEvents = handler(
  async ({ request, services, caller, context }) => {
    if (!wantsEventStream(request.headers.get('accept'))) {
      return problem(406, 'not-acceptable', 'This endpoint serves text/event-stream only.', {
        field: 'accept',
      });
    }
    const timings = { ...DEFAULT_TIMINGS, maxDurationMs: services.settings.sseMaxSeconds * 1000 };
    return sseResponse(
      (sink) =>
        new CallerEventStream(
          visibleOwner(caller),
          { tasks: services.repository, events: services.taskEvents },
          services.subscriptions,
          taskJson,
          sink,
          timings,
        ),
      streamLog(context, `event stream of caller ${caller.id}`),
    );
  },
  { streamScope: () => ({}) },
);
