import { z } from 'zod';
import { createDocument } from 'zod-openapi';
import {
  AdminStatsSchema,
  DeadLetterListSchema,
  DeadLetterQuerySchema,
  SequenceNumberSchema,
  CreateStreamTokenSchema,
  CreateUploadSchema,
  StreamTokenSchema,
  EventListSchema,
  SubmitTaskSchema,
  UploadSchema,
  HealthSchema,
  LivenessSchema,
  ListEventsQuerySchema,
  OpenApiDocumentSchema,
  ListTasksQuerySchema,
  ProblemSchema,
  BulkActionSchema,
  BulkResultSchema,
  TaskCountsQuerySchema,
  TaskCountsSchema,
  TaskStepListSchema,
  TaskIdSchema,
  TaskListSchema,
  TaskInputSchema,
  TaskResultSchema,
  TaskSchema,
  TaskTypeListSchema,
  SignalNameSchema,
  SignalSchema,
} from './api-schemas';

const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: 'Problem details (RFC 9457)',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  );

/** What every route behind authentication can also answer: no or a bad credential, and the caller's rate limit. */
const authenticated = (...statuses: number[]) => problems(401, 429, ...statuses);

/** Submits and uploads also answer 503 while the rate limiter cannot count them, or a dependency does not answer. */
const submitting = (...statuses: number[]) => authenticated(503, ...statuses);

const taskResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: TaskSchema } },
});

function bulkOperation(operationId: string, summary: string, description: string) {
  return {
    operationId,
    tags: ['tasks'],
    summary,
    description,
    requestBody: { required: true, content: { 'application/json': { schema: BulkActionSchema } } },
    responses: {
      '200': {
        description: 'What was done, and whether more tasks match',
        content: { 'application/json': { schema: BulkResultSchema } },
      },
      ...submitting(400, 413, 415, 422),
    },
  };
}

/** The SSE URLs also take a stream token in the query (browsers' EventSource cannot send headers). */
const STREAM_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }, { streamToken: [] }];

/** What the document shows of a task type: its name, title, input schema and an input that schema accepts. */
export interface DocumentedTaskType {
  type: string;
  title: string;
  input: z.ZodType;
  example: unknown;
}

/** OpenAPI 3.1 generated from the API's zod schemas and each task type's input schema. */
export function openApiDocument(definitions: readonly DocumentedTaskType[]) {
  const submitBodies = definitions.map((d) =>
    z
      .object({ type: z.literal(d.type), input: d.input, callbackUrl: SubmitTaskSchema.shape.callbackUrl })
      .meta({ id: `Submit_${d.type.replace(/-/g, '_')}`, description: d.title }),
  );
  const submitBody =
    submitBodies.length === 1 ? submitBodies[0] : z.discriminatedUnion('type', submitBodies as never);
  const idParam = { path: z.object({ id: TaskIdSchema }) };
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Longhaul',
      version: '1.0.0',
      description:
        'Long-running operations behind an HTTP API: submit a task (202 + Location), then poll it, stream its events, cancel it or fetch its result.',
    },
    tags: [
      { name: 'tasks', description: 'Submit, read, cancel and list tasks; fetch their results' },
      { name: 'events', description: "A task's events, as history or as a live stream" },
      { name: 'uploads', description: 'Files for tasks, uploaded straight to Blob storage' },
      { name: 'admin', description: 'Operators only (the admin role)' },
      { name: 'service', description: 'This document and the health checks, open to anyone' },
    ],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (AUTH_MODE=apikey, `npm run keys -- create`) or an Entra ID access token for the API (AUTH_MODE=entra).',
        },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Api-Key',
          description: 'An API key (AUTH_MODE=apikey), as an alternative to the Authorization header.',
        },
        streamToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            'A stream token from POST /api/stream-tokens, on the two SSE URLs only (EventSource cannot send headers).',
        },
        signalLink: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            "The token of a signal link a task handed out (ctx.signalUrl): it delivers that task's signal of that name, nothing else.",
        },
      },
    },
    // Every operation but the three open ones needs a caller (with AUTH_MODE=none, anyone is the local admin).
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/api/tasks': {
        post: {
          operationId: 'submitTask',
          tags: ['tasks'],
          summary: 'Submit a task',
          requestParams: {
            header: z.object({ 'idempotency-key': z.string().max(255).optional() }),
          },
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: submitBody,
                // One per task type, each a body the endpoint accepts: Swagger UI's "Try it out" starts from these
                // rather than from values it makes up from the schema (which can break the schema's own rules).
                examples: Object.fromEntries(
                  definitions.map((d) => [
                    d.type,
                    { summary: d.title, value: { type: d.type, input: d.example } },
                  ]),
                ),
              },
            },
          },
          responses: {
            '202': {
              ...taskResponse('Accepted; poll the Location after Retry-After seconds.'),
              headers: z.object({ location: z.string(), 'retry-after': z.string() }),
            },
            '200': {
              ...taskResponse('The same Idempotency-Key and body were seen before: the original task.'),
              headers: z.object({ 'idempotent-replayed': z.literal('true') }),
            },
            ...submitting(400, 409, 413, 415, 422),
          },
        },
        get: {
          operationId: 'listTasks',
          tags: ['tasks'],
          summary: 'List tasks, newest first',
          requestParams: { query: ListTasksQuerySchema },
          responses: {
            '200': {
              description: 'A page of tasks',
              content: { 'application/json': { schema: TaskListSchema } },
            },
            ...authenticated(400),
          },
        },
      },
      '/api/tasks/{id}': {
        get: {
          operationId: 'getTask',
          tags: ['tasks'],
          summary: 'Get a task',
          requestParams: idParam,
          responses: {
            '200': {
              ...taskResponse(
                'The task; while it is queued or running, Retry-After says when to poll again.',
              ),
              headers: z.object({ 'retry-after': z.string().optional() }),
            },
            ...authenticated(400, 404),
          },
        },
        delete: {
          operationId: 'cancelTask',
          tags: ['tasks'],
          summary: 'Cancel a task',
          requestParams: idParam,
          responses: {
            '202': taskResponse('Cancellation requested (a queued task is cancelled at once)'),
            ...authenticated(400, 404, 409),
          },
        },
      },
      '/api/tasks/counts': {
        get: {
          operationId: 'countTasks',
          tags: ['tasks'],
          summary: 'How many tasks are in each status',
          description:
            "The caller's tasks (an admin's: every owner's), narrowed by the same filters as the list.",
          requestParams: { query: TaskCountsQuerySchema },
          responses: {
            '200': { description: 'Counts', content: { 'application/json': { schema: TaskCountsSchema } } },
            ...authenticated(400),
          },
        },
      },
      '/api/tasks/bulk/cancel': {
        post: bulkOperation(
          'bulkCancelTasks',
          'Cancel the queued and running tasks a filter covers',
          'Oldest first, up to `limit` per call; a queued task is cancelled at once, a running one is asked to stop. ' +
            "The caller's own tasks; an admin's: any owner's. When `more` is true, call again.",
        ),
      },
      '/api/tasks/bulk/retry': {
        post: bulkOperation(
          'bulkRetryTasks',
          'Retry the failed tasks a filter covers',
          'Oldest first, up to `limit` per call; each resumes from its last checkpoint, as POST /api/tasks/{id}/retry. ' +
            "The caller's own tasks; an admin's: any owner's. When `more` is true, call again.",
        ),
      },
      '/api/tasks/{id}/input': {
        get: {
          operationId: 'getTaskInput',
          tags: ['tasks'],
          summary: 'Get the input a task was accepted with',
          description: 'As validated at submit (defaults filled in), streamed from Blob storage.',
          requestParams: idParam,
          responses: {
            '200': {
              description: 'The input JSON',
              content: { 'application/json': { schema: TaskInputSchema } },
            },
            ...authenticated(400, 404, 410),
          },
        },
      },
      '/api/tasks/{id}/steps': {
        get: {
          operationId: 'getTaskSteps',
          tags: ['tasks'],
          summary: "A task's named steps, in the order they started",
          description:
            'Completed steps from the checkpoints (slice, attempt, timings, stored size); the step in flight as of ' +
            "the worker's last heartbeat (HEARTBEAT_SECONDS); failed attempts from the task's history.",
          requestParams: idParam,
          responses: {
            '200': {
              description: 'The steps',
              content: { 'application/json': { schema: TaskStepListSchema } },
            },
            ...authenticated(400, 404),
          },
        },
      },
      '/api/tasks/{id}/retry': {
        post: {
          operationId: 'retryTask',
          tags: ['tasks'],
          summary: 'Retry a failed task from the step that failed',
          description:
            'The task goes back to queued with a fresh round of attempts; the worker replays its checkpoints, so ' +
            'completed steps do not run again. The owner or an admin; 409 unless the task is failed.',
          requestParams: idParam,
          responses: {
            '202': taskResponse('Queued again'),
            ...submitting(400, 404, 409),
          },
        },
      },
      '/api/tasks/{id}/rerun': {
        post: {
          operationId: 'rerunTask',
          tags: ['tasks'],
          summary: 'Submit a new task with the same type and input',
          description:
            "A new task, the original's owner's, with its type, input and callback URL, and `rerunOf` naming it. The " +
            "input is checked against the type's schema as it is now (422 if it no longer fits).",
          requestParams: {
            ...idParam,
            header: z.object({ 'idempotency-key': z.string().max(255).optional() }),
          },
          responses: {
            '202': {
              ...taskResponse('The new task; poll its Location after Retry-After seconds.'),
              headers: z.object({ location: z.string(), 'retry-after': z.string() }),
            },
            '200': {
              ...taskResponse('The same Idempotency-Key was used for this rerun before: the task it made.'),
              headers: z.object({ 'idempotent-replayed': z.literal('true') }),
            },
            ...submitting(400, 404, 409, 410, 422),
          },
        },
      },
      '/api/tasks/{id}/signals/{name}': {
        post: {
          operationId: 'signalTask',
          tags: ['tasks'],
          summary: 'Send a task a signal (an approval, a callback)',
          description:
            'The body is the payload, checked against the schema the task type declares for this signal ' +
            '(GET /api/task-types, `signals`): 422 names the field that fails it, and nothing is kept. The first ' +
            'signal of each name is kept, whether or not the task waits for it yet; a task waiting for it wakes at ' +
            'once. A repeat (same Idempotency-Key or same payload) answers 200; a different payload 409. The owner, ' +
            "an admin, or anyone holding the task's signal link (`?token=`).",
          security: [{ bearer: [] }, { apiKey: [] }, { signalLink: [] }],
          requestParams: {
            path: z.object({ id: TaskIdSchema, name: SignalNameSchema }),
            header: z.object({ 'idempotency-key': z.string().max(255).optional() }),
          },
          requestBody: {
            required: true,
            content: { 'application/json': { schema: z.unknown().meta({ description: 'The payload' }) } },
          },
          responses: {
            '202': { description: 'Kept', content: { 'application/json': { schema: SignalSchema } } },
            '200': {
              description: 'A repeat of the signal kept before',
              content: { 'application/json': { schema: SignalSchema } },
            },
            ...submitting(400, 403, 404, 409, 413, 415, 422),
          },
        },
      },
      '/api/tasks/{id}/result': {
        get: {
          operationId: 'getTaskResult',
          tags: ['tasks'],
          summary: "Get a succeeded task's result",
          requestParams: idParam,
          responses: {
            '200': {
              description: 'The result JSON',
              content: { 'application/json': { schema: TaskResultSchema } },
            },
            ...authenticated(400, 404, 409),
          },
        },
      },
      '/api/tasks/{id}/events': {
        get: {
          operationId: 'getTaskEvents',
          tags: ['events'],
          security: STREAM_SECURITY,
          summary: "A task's event history, oldest first",
          requestParams: { ...idParam, query: ListEventsQuerySchema },
          responses: {
            '200': {
              description: 'A page of events',
              content: { 'application/json': { schema: EventListSchema } },
            },
            ...authenticated(400, 404),
          },
        },
      },
      '/api/events': {
        get: {
          operationId: 'streamCallerEvents',
          tags: ['events'],
          security: STREAM_SECURITY,
          summary: 'Server-Sent Events of every task of the caller (one connection for a whole dashboard)',
          description:
            'Writes `retry`, then `event: snapshot` with `{tasks}` (the unfinished tasks), then each event of the ' +
            "caller's tasks as `event: <type>` with the Event as data; keep-alive comments; closes after SSE_MAX_SECONDS.",
          responses: {
            '200': {
              description: 'An event stream',
              content: { 'text/event-stream': { schema: z.string() } },
            },
            ...authenticated(406),
          },
        },
      },
      '/api/stream-tokens': {
        post: {
          operationId: 'createStreamToken',
          tags: ['events'],
          summary: 'Get a five-minute token for one SSE URL (for EventSource, which cannot send headers)',
          description:
            'With `taskId`, the token opens `GET /api/tasks/{taskId}/events?token=…` (as an event stream only); ' +
            'without it, `GET /api/events?token=…`. No other endpoint accepts it. 404 with AUTH_MODE=none.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: CreateStreamTokenSchema } },
          },
          responses: {
            '201': {
              description: 'The token and when it expires',
              content: { 'application/json': { schema: StreamTokenSchema } },
            },
            ...authenticated(400, 404, 413, 415, 422),
          },
        },
      },
      '/api/uploads': {
        post: {
          operationId: 'createUpload',
          tags: ['uploads'],
          summary: 'Get a write-only URL to upload a file straight to Blob storage',
          description:
            'PUT the file to `uploadUrl` with `headers` before `expiresAt`, then pass `blob` in a task input (e.g. ' +
            "the dataset task's `blob`). The file never passes through the API.",
          requestBody: { required: true, content: { 'application/json': { schema: CreateUploadSchema } } },
          responses: {
            '201': {
              description: 'Where to PUT the file',
              content: { 'application/json': { schema: UploadSchema } },
            },
            ...submitting(400, 413, 415, 422),
          },
        },
      },
      '/api/task-types': {
        get: {
          operationId: 'listTaskTypes',
          tags: ['tasks'],
          summary: 'The task types and their input schemas',
          responses: {
            '200': {
              description: 'Task types',
              content: { 'application/json': { schema: TaskTypeListSchema } },
            },
            ...authenticated(),
          },
        },
      },
      '/api/admin/stats': {
        get: {
          operationId: 'getAdminStats',
          tags: ['admin'],
          summary:
            'Admin: task counts by status and type, queue and dead-letter counts, oldest queued, stalled tasks',
          responses: {
            '200': {
              description: 'The numbers, as of generatedAt',
              content: { 'application/json': { schema: AdminStatsSchema } },
            },
            ...authenticated(403),
          },
        },
      },
      '/api/admin/dead-letters': {
        get: {
          operationId: 'listDeadLetters',
          tags: ['admin'],
          summary: "Admin: the tasks queue's dead letters, oldest first, peeked (nothing is locked)",
          requestParams: { query: DeadLetterQuerySchema },
          responses: {
            '200': {
              description: 'Dead letters',
              content: { 'application/json': { schema: DeadLetterListSchema } },
            },
            ...authenticated(400, 403),
          },
        },
      },
      '/api/admin/dead-letters/{sequenceNumber}': {
        delete: {
          operationId: 'deleteDeadLetter',
          tags: ['admin'],
          summary: 'Admin: remove one dead letter',
          requestParams: { path: z.object({ sequenceNumber: SequenceNumberSchema }) },
          responses: {
            '204': { description: 'Removed' },
            ...authenticated(400, 403, 404, 409),
          },
        },
      },
      '/api/admin/tasks/{id}/retry': {
        post: {
          operationId: 'adminRetryTask',
          tags: ['admin'],
          summary: 'Admin: re-drive a failed task from its last checkpoint',
          description:
            'The task goes back to queued with a fresh round of attempts and a new message; the worker replays its ' +
            'checkpoints, so completed steps do not run again. 409 unless the task is failed.',
          requestParams: idParam,
          responses: {
            '202': taskResponse('Queued again'),
            ...authenticated(400, 403, 404, 409),
          },
        },
      },
      '/api/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          tags: ['service'],
          security: [],
          summary: 'This document',
          responses: {
            '200': {
              description: 'OpenAPI 3.1',
              content: { 'application/json': { schema: OpenApiDocumentSchema } },
            },
          },
        },
      },
      '/api/health': {
        get: {
          operationId: 'getLiveness',
          tags: ['service'],
          security: [],
          summary: 'Liveness',
          responses: {
            '200': {
              description: 'The process is up',
              content: { 'application/json': { schema: LivenessSchema } },
            },
          },
        },
      },
      '/api/health/ready': {
        get: {
          operationId: 'getReadiness',
          tags: ['service'],
          security: [],
          summary: 'Readiness: every dependency with its state and latency',
          responses: {
            '200': { description: 'Ready', content: { 'application/json': { schema: HealthSchema } } },
            '503': { description: 'Not ready', content: { 'application/json': { schema: HealthSchema } } },
          },
        },
      },
    },
  });
}
