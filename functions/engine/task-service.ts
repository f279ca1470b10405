import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { OutboundPolicy } from '../outbound/address-policy';
import { plainMessage } from '../contract/plain-errors';
import { withDeadline } from '../platform/deadline';
import { appMetrics } from '../platform/metrics';
import { activeTraceparent, annotateActiveSpan, ATTR } from '../platform/tracing';
import type { LiveEventPublisher } from '../events/redis-event-publisher';
import { CONTAINERS, isBlobNotFound, type BlobStore } from '../storage/blob-store';
import { TASK_STATUSES, type TaskRow, type TaskStatus } from '../model/task';
import type { TaskEventRow } from '../model/events';
import type { ListQuery, TaskFilter, TaskRepository } from '../storage/task-repository';
import type { EventRepository } from '../storage/event-repository';
import type { TaskCatalog } from './catalog';
import { messageIds, type Dispatch } from './dispatch';
import type { WebhookDelivery } from '../webhooks/webhook-delivery';
import {
  ActiveTasksLimitError,
  IdempotencyConflictError,
  TaskInputError,
  type FieldError,
} from './task-errors';

export interface SubmitRequest {
  owner: string;
  type: string;
  input: unknown;
  idempotencyKey?: string;
  /** Where to POST the task when it ends (completion webhook). */
  callbackUrl?: string;
  /** Hash of what the caller sent, to tell a retry from a different request under the same key. */
  requestHash: string;
  traceparent: string;
  /** At most this many of the owner's tasks may be queued or running, this one included; 0 or absent: no limit. */
  activeLimit?: number;
  /** The task this one reruns. */
  rerunOf?: string;
  /** Fail it this long after it starts; the type's own limit applies when it is lower. */
  maxDurationSeconds?: number;
}

export type SubmitOutcome = { replayed: boolean; task: TaskRow };

export type CancelOutcome =
  { kind: 'notFound' } | { kind: 'finished'; task: TaskRow } | { kind: 'requested'; task: TaskRow };

type BlobContent = { kind: 'ready'; stream: NodeJS.ReadableStream; length?: number };

export type ResultOutcome = { kind: 'notFound' } | { kind: 'notSucceeded'; task: TaskRow } | BlobContent;

/** `gone`: the task exists but its payload blob does not (deleted outside Longhaul). */
export type InputOutcome = { kind: 'notFound' } | { kind: 'gone'; task: TaskRow } | BlobContent;

export interface TaskServiceDeps {
  repository: TaskRepository;
  taskEvents: EventRepository;
  blobs: BlobStore;
  dispatch: Pick<Dispatch, 'enqueue'>;
  catalog: TaskCatalog;
  webhooks: WebhookDelivery;
  /** Live fan-out of the events the API itself records (queued, and cancelled while queued), per owner. */
  live: (owner: string) => LiveEventPublisher;
  /** Which callback URLs are acceptable; undefined when webhooks are off (no signing secret). */
  callbackPolicy?: OutboundPolicy;
  /**
   * How long a submit waits for each dependency call (SUBMIT_DEPENDENCY_TIMEOUT_MS). A Postgres or Blob call past it
   * fails the submit with DeadlineExceededError (the API's 503); the send past it leaves the task to the sweeper.
   */
  dependencyTimeoutMs: number;
}

/** Submitting, reading, listing and cancelling tasks: the HTTP side of the async request-reply pattern. */
export class TaskService {
  constructor(private readonly deps: TaskServiceDeps) {}

  /**
   * Validates, writes the payload blob, then the row, then the message; a failed send leaves it queued for the sweeper.
   * A replay of an earlier submit (same Idempotency-Key) is answered before the active-task limit is looked at.
   * No dependency call waits longer than `dependencyTimeoutMs` (a partition must not hold the request): past it the
   * submit throws DeadlineExceededError, and then either nothing was accepted (the lookup or the blob: the upload is aborted,
   * and a payload blob the store wrote anyway is referenced by no row) or the row commits late, unsent, and the sweeper
   * sends it (SWEEP_UNSENT_SECONDS): a retry with the same Idempotency-Key finds that task.
   */
  async submit(request: SubmitRequest): Promise<SubmitOutcome> {
    const { repository, blobs, dispatch, dependencyTimeoutMs: ms } = this.deps;
    const input = this.validate(request.type, request.input);
    const maxDurationSeconds = this.maxDuration(request.type, request.maxDurationSeconds);
    if (request.callbackUrl !== undefined) this.validateCallback(request.callbackUrl);
    const idempotencyKey = request.idempotencyKey;
    if (idempotencyKey) {
      const existing = await withDeadline('Postgres', ms, () =>
        repository.findByIdempotencyKey(request.owner, idempotencyKey),
      );
      if (existing) return this.replay(existing, request.requestHash);
    }
    const id = randomUUID();
    // The request's span (traced-triggers) is the submit span: the task's messages carry it, so the task is one trace.
    annotateActiveSpan({ [ATTR.taskId]: id, [ATTR.taskType]: request.type });
    const traceparent = activeTraceparent() ?? request.traceparent;
    const bytes = Buffer.from(JSON.stringify(input));
    const inputRef = await withDeadline('Blob storage', ms, (abortSignal) =>
      blobs.putJson(CONTAINERS.payloads, `${id}.json`, bytes, false, abortSignal),
    );
    const task = await withDeadline('Postgres', ms, () =>
      repository.insert(
        {
          id,
          type: request.type,
          owner: request.owner,
          idempotencyKey: request.idempotencyKey ?? null,
          requestHash: request.requestHash,
          inputRef,
          inputBytes: bytes.length,
          traceId: traceparent.split('-')[1] ?? null,
          traceContext: traceparent,
          callbackUrl: request.callbackUrl ?? null,
          rerunOf: request.rerunOf ?? null,
          maxDurationSeconds,
        },
        request.activeLimit,
      ),
    );
    if (task === 'duplicate' || task === 'limited') {
      await blobs.delete(inputRef);
      // Another request with the same key won the race (and may be what filled the limit): this one is its replay.
      const winner = request.idempotencyKey
        ? await repository.findByIdempotencyKey(request.owner, request.idempotencyKey)
        : undefined;
      if (winner) return this.replay(winner, request.requestHash);
      if (task === 'limited') throw new ActiveTasksLimitError(request.activeLimit ?? 0);
      throw new Error('idempotency key conflict without a task');
    }
    appMetrics().tasksSubmitted.add(1, { [ATTR.taskType]: task.type });
    this.deps.live(task.owner).publish({
      taskId: id,
      seq: 1,
      at: task.createdAt,
      type: 'status',
      level: null,
      message: null,
      data: { status: 'queued' },
    });
    await dispatch.enqueue(
      task,
      { taskId: id, slice: 0 },
      { messageId: messageIds.slice(id, 0), timeoutMs: ms },
    );
    return { replayed: false, task };
  }

  /** `owner` undefined: any owner's task (admins); likewise below. */
  get(owner: string | undefined, id: string): Promise<TaskRow | undefined> {
    return this.deps.repository.find(id, owner);
  }

  list(query: ListQuery): Promise<TaskRow[]> {
    return this.deps.repository.list(query);
  }

  /** How many tasks the filter covers, by status, every status named (0 when none). */
  async counts(filter: TaskFilter): Promise<Record<TaskStatus, number>> {
    const counts = await this.deps.repository.countByStatus(filter);
    return Object.fromEntries(TASK_STATUSES.map((s) => [s, counts.get(s) ?? 0])) as Record<
      TaskStatus,
      number
    >;
  }

  /** The task's input as it was submitted (validated and normalized), streamed from its claim-check blob. */
  async openInput(owner: string | undefined, id: string): Promise<InputOutcome> {
    const task = await this.deps.repository.find(id, owner);
    if (!task) return { kind: 'notFound' };
    try {
      return { kind: 'ready', ...(await this.deps.blobs.openStream(task.inputRef)) };
    } catch (err) {
      if (isBlobNotFound(err)) return { kind: 'gone', task };
      throw err;
    }
  }

  async cancel(owner: string | undefined, id: string): Promise<CancelOutcome> {
    const requested = await this.deps.repository.requestCancel(id, owner);
    if (requested) {
      // A queued task ends here and now: its status event and its webhook start here too.
      if (requested.event) {
        appMetrics().tasksCancelled.add(1, { [ATTR.taskType]: requested.task.type });
        this.deps.live(requested.task.owner).publish(requested.event);
        await this.deps.webhooks.announce(requested.task);
      }
      return { kind: 'requested', task: requested.task };
    }
    const current = await this.deps.repository.find(id, owner);
    return current ? { kind: 'finished', task: current } : { kind: 'notFound' };
  }

  async openResult(owner: string | undefined, id: string): Promise<ResultOutcome> {
    const task = await this.deps.repository.find(id, owner);
    if (!task) return { kind: 'notFound' };
    if (task.status !== 'succeeded' || !task.resultRef) return { kind: 'notSucceeded', task };
    return { kind: 'ready', ...(await this.deps.blobs.openStream(task.resultRef)) };
  }

  async events(
    owner: string | undefined,
    id: string,
    afterSeq: number,
    limit: number,
  ): Promise<TaskEventRow[] | undefined> {
    const task = await this.deps.repository.find(id, owner);
    if (!task) return undefined;
    return this.deps.taskEvents.page(id, afterSeq, limit);
  }

  private validate(type: string, input: unknown): unknown {
    const definition = this.deps.catalog.get(type);
    if (!definition) {
      const known = this.deps.catalog
        .all()
        .map((d) => d.type)
        .join(', ');
      throw new TaskInputError([{ path: 'type', message: `unknown task type "${type}" (known: ${known})` }]);
    }
    const parsed = definition.input.safeParse(input);
    if (!parsed.success) throw new TaskInputError(fieldErrors(parsed.error, 'input'));
    return parsed.data;
  }

  /** The lower of the type's and the submission's limits on the task's duration (null: neither sets one). */
  private maxDuration(type: string, requested: number | undefined): number | null {
    const limits = [this.deps.catalog.get(type)?.maxDurationSeconds, requested].filter(
      (v): v is number => v !== undefined,
    );
    return limits.length > 0 ? Math.min(...limits) : null;
  }

  /** Checks what can be checked without DNS; the address is checked again at each delivery, as it connects. */
  private validateCallback(callbackUrl: string): void {
    const policy = this.deps.callbackPolicy;
    const refusal = policy
      ? policy.refusal(new URL(callbackUrl))
      : 'webhooks are not enabled on this server (WEBHOOK_SIGNING_SECRET is not set)';
    if (refusal) throw new TaskInputError([{ path: 'callbackUrl', message: refusal }]);
  }

  private replay(existing: TaskRow, requestHash: string): SubmitOutcome {
    if (existing.requestHash !== requestHash) throw new IdempotencyConflictError(existing.id);
    return { replayed: true, task: existing };
  }
}

/** Every failing path of a zod error, as `input.steps`-style paths. */
export function fieldErrors(error: z.ZodError, prefix: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: plainMessage(issue),
  }));
}
