import { z } from 'zod';
import { isIdPrefix, TASK_STATUSES } from '../model/task';

/**
 * The API's one contract: what handlers validate and return, what OpenAPI is generated from, and (as `z.output` types
 * below) what the serializers return and the client declares. Every response schema has an `id`, so the OpenAPI
 * document names it as a component.
 */

/** The longest maxDurationSeconds a submit may ask for: 30 days. */
export const MAX_DURATION_SECONDS = 30 * 86_400;

export const TaskStatusSchema = z.enum(TASK_STATUSES).meta({ id: 'TaskStatus' });

export const ProgressSchema = z
  .object({
    percent: z.number().min(0).max(100).nullable(),
    current: z.number().nullable(),
    total: z.number().nullable(),
    message: z.string().nullable(),
    step: z.string().nullable(),
  })
  .meta({ id: 'Progress' });

export const TaskErrorSchema = z
  .object({
    code: z.string(),
    message: z.string(),
    step: z.string().optional().describe('The step that was running when the task failed, when one was.'),
  })
  .meta({ id: 'TaskError' });

export const CallbackSchema = z
  .object({
    url: z.string(),
    status: z
      .enum(['waiting', 'pending', 'delivered', 'failed'])
      .describe('waiting: the task has not ended; pending: delivery in progress or to be retried.'),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'Callback', description: 'The completion webhook of a task submitted with a callbackUrl.' });

export const WaitingSchema = z
  .object({
    kind: z.enum(['sleep', 'signal']).describe('sleep: ctx.sleep; signal: ctx.waitForEvent.'),
    name: z.string().describe("The sleep's or the signal's name."),
    until: z.iso
      .datetime()
      .nullable()
      .describe("When the wait ends by itself: the sleep's end, or the signal's timeout (null: none)."),
  })
  .meta({ id: 'Waiting', description: 'What a waiting task waits for. It holds no worker meanwhile.' });

export const TaskSchema = z
  .object({
    id: z.uuid(),
    type: z.string(),
    status: TaskStatusSchema,
    progress: ProgressSchema.nullable(),
    attempts: z.number().int(),
    cancelRequested: z.boolean(),
    error: TaskErrorSchema.nullable(),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    updatedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    links: z.object({
      self: z.string(),
      events: z.string(),
      result: z.string(),
      cancel: z.string(),
      input: z.string(),
      steps: z.string(),
    }),
    callback: CallbackSchema.nullable(),
    rerunOf: z.uuid().nullable().describe('The task this one reruns (POST /api/tasks/{id}/rerun).'),
    waiting: WaitingSchema.nullable().describe('Set while the status is waiting.'),
    maxDurationSeconds: z
      .number()
      .int()
      .nullable()
      .describe('The task fails with max_duration_exceeded this long after it started, waits included.'),
  })
  .meta({ id: 'Task' });

export const TaskResultSchema = z
  .unknown()
  .meta({ id: 'TaskResult', description: "The task's own result JSON: its shape is the task type's." });

export const TaskInputSchema = z.unknown().meta({
  id: 'TaskInput',
  description: "The task's input JSON: its shape is the task type's input schema.",
});

export const TaskListSchema = z
  .object({ items: z.array(TaskSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'TaskList' });

export const SubmitTaskSchema = z
  .object({
    type: z.string().min(1).describe('A task type from GET /api/task-types.'),
    input: z.unknown().describe("The input, checked against the type's inputSchema.").optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .max(2048)
      .optional()
      .describe(
        'Completion webhook: when the task ends, its Task JSON is POSTed here, signed in the Longhaul-Signature header.',
      ),
    maxDurationSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_DURATION_SECONDS)
      .optional()
      .describe(
        "Fail the task with max_duration_exceeded this long after it starts, waits included; within the type's own maxDurationSeconds, which applies when it is lower.",
      ),
  })
  .strict()
  .meta({ id: 'SubmitTask' });

/** The signal endpoint's body: any JSON the task type's signal schema accepts, at most this many bytes. */
export const MAX_SIGNAL_BYTES = 16 * 1024;

export const SignalNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  message: 'must be 1 to 64 letters, digits, ".", "_" or "-"',
});

export const SignalSchema = z
  .object({
    taskId: z.uuid(),
    name: z.string(),
    payload: z.unknown().describe('The payload as it was kept (the first signal of this name).'),
    receivedAt: z.iso.datetime(),
    duplicate: z
      .boolean()
      .describe('This request repeated a signal kept before (same Idempotency-Key or payload).'),
    taskStatus: TaskStatusSchema.describe("The task's status when the signal was kept."),
  })
  .meta({ id: 'Signal' });

/** What the upload endpoint accepts: the files a task can read (CSV and plain text). */
export const UPLOAD_CONTENT_TYPES = [
  'text/csv',
  'application/csv',
  'text/plain',
  'text/tab-separated-values',
  // What Windows browsers report for a .csv file.
  'application/vnd.ms-excel',
] as const;

export const CreateUploadSchema = z
  .object({
    filename: z
      .string()
      .min(1)
      .max(255)
      .refine(
        (name) =>
          ![...name].some((c) => c === '/' || c === '\\' || c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
        'a file name without slashes or control characters',
      )
      .describe('The file name, kept at the end of the blob name.'),
    contentType: z.enum(UPLOAD_CONTENT_TYPES).describe('The media type the file is PUT with.'),
    size: z.number().int().positive().describe('The file size in bytes, at most MAX_UPLOAD_BYTES.'),
  })
  .strict()
  .meta({ id: 'CreateUpload' });

export const CreateStreamTokenSchema = z
  .object({
    taskId: z
      .uuid({ message: 'must be a UUID' })
      .optional()
      .describe("The task whose stream the token opens; without it, the caller's stream (GET /api/events)."),
  })
  .strict()
  .meta({ id: 'CreateStreamToken' });

export const StreamTokenSchema = z
  .object({
    token: z.string().describe('Pass as `?token=` on the SSE URL it was made for; nowhere else.'),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'StreamToken' });

export const UploadSchema = z
  .object({
    blob: z
      .string()
      .describe('The blob reference (uploads/...) to pass as a task input, e.g. the dataset task.'),
    uploadUrl: z.string().describe('Write-only SAS URL: PUT the file here, with the headers below.'),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.iso.datetime(),
    maxBytes: z.number().int(),
  })
  .meta({ id: 'Upload' });

export const EventSchema = z
  .object({
    seq: z.number().int().positive(),
    taskId: z.uuid(),
    type: z.enum(['status', 'progress', 'log']),
    at: z.iso.datetime(),
  })
  .catchall(z.unknown())
  .meta({
    id: 'Event',
    description: 'status: {status, error?}; progress: the progress fields; log: {level, message, data?}',
  });

export const EventListSchema = z
  .object({ items: z.array(EventSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'EventList' });

export const TaskTypeSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    description: z.string(),
    inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema (draft 2020-12) of the input.'),
    example: z.unknown(),
    signals: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .describe("The signals its tasks wait for, by name: each payload's JSON Schema (draft 2020-12)."),
    maxDurationSeconds: z.number().int().nullable().describe("The type's own limit on a task's duration."),
  })
  .meta({ id: 'TaskType' });

export const TaskTypeListSchema = z.array(TaskTypeSchema).meta({ id: 'TaskTypeList' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    field: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });

export const LivenessSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    authMode: z.enum(['none', 'apikey', 'entra']).describe("The server's AUTH_MODE."),
    checks: z.record(
      z.string(),
      z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
    ),
  })
  .meta({ id: 'Health' });

export const TaskIdSchema = z.uuid({ message: 'must be a UUID' });

const TaskTypeNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a task type name');

/** Which tasks a list, a count or a bulk action covers (each field narrows it; the caller's own tasks, or any for admins). */
const taskFilterShape = {
  status: TaskStatusSchema.optional(),
  type: TaskTypeNameSchema.optional(),
  idPrefix: z
    .string()
    .transform((v) => v.toLowerCase())
    .refine(isIdPrefix, 'must be the start of a task id: hex digits, with dashes where a UUID has them')
    .optional()
    .describe('The start of the task id, e.g. `3f2a` or `3f2a1b9c-7d`.'),
  createdAfter: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time' })
    .optional()
    .describe('Created at or after this time.'),
  createdBefore: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time' })
    .optional()
    .describe('Created before this time.'),
};

export const TaskFilterSchema = z.object(taskFilterShape).strict().meta({ id: 'TaskFilter' });

export const ListTasksQuerySchema = z
  .object({
    ...taskFilterShape,
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().optional(),
  })
  .strict();

const { status: _status, ...unfilteredStatus } = taskFilterShape;
export const TaskCountsQuerySchema = z.object(unfilteredStatus).strict();

export const TaskCountsSchema = z
  .object({
    total: z.number().int(),
    byStatus: z.object(
      Object.fromEntries(TASK_STATUSES.map((s) => [s, z.number().int()])) as Record<TaskStatus, z.ZodNumber>,
    ),
  })
  .meta({ id: 'TaskCounts', description: 'How many of the tasks the filter covers are in each status.' });

export const BulkActionSchema = z
  .object({
    filter: TaskFilterSchema.describe('Which tasks; {} is every task the caller may act on.'),
    limit: z.number().int().min(1).max(1000).default(100).describe('At most this many tasks per call.'),
  })
  .strict()
  .meta({ id: 'BulkAction' });

export const BulkResultSchema = z
  .object({
    action: z.enum(['cancel', 'retry']),
    affected: z.array(z.uuid()).describe('Cancelled (or, when running, asked to stop), or queued again.'),
    skipped: z
      .array(z.object({ id: z.uuid(), status: TaskStatusSchema.nullable() }))
      .describe('Matched, but changed before the action reached them.'),
    more: z.boolean().describe('More tasks match: call again.'),
  })
  .meta({ id: 'BulkResult' });

export const TaskStepSchema = z
  .object({
    name: z.string(),
    status: z.enum(['succeeded', 'running', 'failed']),
    attempts: z
      .number()
      .int()
      .describe('Attempts that ran the step: the failed ones and the current or last one.'),
    slice: z.number().int().nullable().describe('The slice it completed or runs in.'),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    durationMs: z.number().int().nullable().describe('Until now, while running.'),
    storedBytes: z.number().int().nullable().describe('Size of the checkpointed result JSON.'),
  })
  .meta({ id: 'TaskStep' });

export const TaskStepListSchema = z
  .object({ taskId: z.uuid(), status: TaskStatusSchema, items: z.array(TaskStepSchema) })
  .meta({ id: 'TaskStepList' });

export const ListEventsQuerySchema = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const StatusCountsSchema = TaskCountsSchema.shape.byStatus;

export const AdminStatsSchema = z
  .object({
    generatedAt: z.iso.datetime(),
    tasks: z.object({
      total: z.number().int(),
      byStatus: StatusCountsSchema,
      byType: z.array(z.object({ type: z.string(), total: z.number().int(), byStatus: StatusCountsSchema })),
    }),
    queue: z
      .object({
        name: z.string(),
        activeCount: z.number().int(),
        scheduledCount: z.number().int(),
        deferredCount: z.number().int(),
        deadLetterCount: z.number().int(),
        countMethod: z
          .literal('peek')
          .describe('Counted by peeking the queue and its dead-letter sub-queue (no management API needed).'),
        countLimit: z.number().int().describe('Messages peeked at most per queue.'),
        truncated: z.boolean().describe('A count reached countLimit: the real number is at least that.'),
      })
      .describe('The tasks queue; active includes messages locked by a worker right now.'),
    oldestQueued: z
      .object({ id: z.uuid(), createdAt: z.iso.datetime(), ageSeconds: z.number().int() })
      .nullable(),
    stalled: z
      .object({
        count: z.number().int(),
        limit: z.number().int(),
        tasks: z.array(
          z.object({
            id: z.uuid(),
            type: z.string(),
            attempts: z.number().int(),
            lastHeartbeatAt: z.iso.datetime(),
            silentSeconds: z.number().int(),
          }),
        ),
      })
      .describe(
        'Running tasks whose worker went silent and whose lease expired: the sweeper re-drives them.',
      ),
  })
  .meta({ id: 'AdminStats' });

export const DeadLetterSchema = z
  .object({
    sequenceNumber: z.string().describe('In the dead-letter queue; a string, as it is a 64-bit number.'),
    messageId: z.string().nullable(),
    kind: z.enum(['slice', 'webhook', 'other']),
    taskId: z.uuid().nullable(),
    taskStatus: TaskStatusSchema.nullable().describe("The task's status now (null: no such task)."),
    slice: z.number().int().nullable(),
    attempt: z.number().int().nullable(),
    webhook: z.number().int().nullable(),
    body: z.unknown(),
    reason: z.string().nullable(),
    description: z.string().nullable(),
    enqueuedAt: z.iso.datetime().nullable().describe('When it was dead-lettered.'),
    deliveryCount: z.number().int(),
    deadLetterSource: z.string().nullable(),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterListSchema = z
  .object({ items: z.array(DeadLetterSchema) })
  .meta({ id: 'DeadLetterList' });

export const DeadLetterQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(20) })
  .strict();

export const SequenceNumberSchema = z
  .string()
  .regex(/^\d{1,19}$/, 'must be a sequence number (digits)')
  .describe('A sequence number from GET /api/admin/dead-letters.');

/** The OpenAPI document itself (GET /api/openapi.json), described only as far as a client relies on it. */
export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'OpenApiDocument' });

// The types of the response bodies, derived from the schemas above: serializers return them, the client re-exports them.
export type TaskStatus = z.output<typeof TaskStatusSchema>;
export type Progress = z.output<typeof ProgressSchema>;
export type TaskError = z.output<typeof TaskErrorSchema>;
export type Callback = z.output<typeof CallbackSchema>;
export type Task = z.output<typeof TaskSchema>;
export type TaskList = z.output<typeof TaskListSchema>;
export type TaskEvent = z.output<typeof EventSchema>;
export type EventList = z.output<typeof EventListSchema>;
export type TaskType = z.output<typeof TaskTypeSchema>;
export type StreamToken = z.output<typeof StreamTokenSchema>;
export type Upload = z.output<typeof UploadSchema>;
export type Problem = z.output<typeof ProblemSchema>;
export type Liveness = z.output<typeof LivenessSchema>;
export type Health = z.output<typeof HealthSchema>;
export type AdminStats = z.output<typeof AdminStatsSchema>;
export type DeadLetter = z.output<typeof DeadLetterSchema>;
export type DeadLetterList = z.output<typeof DeadLetterListSchema>;
export type TaskCounts = z.output<typeof TaskCountsSchema>;
export type BulkResult = z.output<typeof BulkResultSchema>;
export type TaskStep = z.output<typeof TaskStepSchema>;
export type TaskStepList = z.output<typeof TaskStepListSchema>;
export type Signal = z.output<typeof SignalSchema>;
export type Waiting = z.output<typeof WaitingSchema>;
