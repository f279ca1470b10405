import type { AdminRepository } from '../storage/admin-repository';
import type { CheckpointStore } from '../storage/checkpoint-store';
import type { DeadLetter, QueueInspector, RemoveOutcome } from '../messaging/queue-inspector';
import type { DeadLetter as DeadLetterJson } from '../contract/api-schemas';
import { parseMessageBody } from '../model/messages';
import { TASK_STATUSES, type TaskStatus } from '../model/task';
import type { TaskRepository } from '../storage/task-repository';

/** Messages counted per queue by peeking; beyond it the counts say `truncated`. */
const QUEUE_COUNT_LIMIT = 5_000;
/** Stalled tasks listed (and counted) at most. */
const STALLED_LIMIT = 100;
/** Messages locked at most while looking for a dead letter to remove. */
const REMOVE_SCAN_LIMIT = 5_000;

export interface AdminServiceDeps {
  repository: TaskRepository;
  admin: AdminRepository;
  checkpoints: CheckpointStore;
  inspector: QueueInspector;
  queueName: string;
  /** A running task silent this long whose lease has expired is stalled: what the sweeper re-drives. */
  stallSeconds: number;
}

type Counts = Record<TaskStatus, number>;

const zeroCounts = (): Counts => Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Counts;

/** What operators see and do beyond the task API: counts and dead letters. */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  async stats() {
    const { admin, inspector, repository, checkpoints } = this.deps;
    const generatedAt = new Date();
    const [rows, queue, oldest, silent] = await Promise.all([
      admin.countByTypeAndStatus(),
      inspector.count(QUEUE_COUNT_LIMIT),
      repository.oldestQueued(),
      repository.staleRunning(this.deps.stallSeconds, STALLED_LIMIT),
    ]);
    const byStatus = zeroCounts();
    const byType = new Map<string, Counts>();
    for (const row of rows) {
      byStatus[row.status] += row.count;
      const counts = byType.get(row.type) ?? zeroCounts();
      counts[row.status] += row.count;
      byType.set(row.type, counts);
    }
    const leases = await Promise.all(silent.map((t) => checkpoints.leaseState(t.id)));
    const stalled = silent.filter((_, i) => !leases[i].live);
    const secondsSince = (d: Date) => Math.max(0, Math.floor((generatedAt.getTime() - d.getTime()) / 1000));
    return {
      generatedAt: generatedAt.toISOString(),
      tasks: {
        total: rows.reduce((sum, r) => sum + r.count, 0),
        byStatus,
        byType: [...byType].map(([type, counts]) => ({
          type,
          total: Object.values(counts).reduce((a, b) => a + b, 0),
          byStatus: counts,
        })),
      },
      queue: {
        name: this.deps.queueName,
        activeCount: queue.active,
        scheduledCount: queue.scheduled,
        deferredCount: queue.deferred,
        deadLetterCount: queue.deadLetter,
        countMethod: 'peek' as const,
        countLimit: queue.limit,
        truncated: queue.truncated,
      },
      oldestQueued: oldest
        ? {
            id: oldest.id,
            createdAt: oldest.createdAt.toISOString(),
            ageSeconds: secondsSince(oldest.createdAt),
          }
        : null,
      stalled: {
        count: stalled.length,
        limit: STALLED_LIMIT,
        tasks: stalled.map((t) => {
          const lastHeard = t.heartbeatAt ?? t.updatedAt;
          return {
            id: t.id,
            type: t.type,
            attempts: t.attempts,
            lastHeartbeatAt: lastHeard.toISOString(),
            silentSeconds: secondsSince(lastHeard),
          };
        }),
      },
    };
  }

  /** The oldest dead letters, each with the task it names (when it is a task message) and that task's status. */
  async deadLetters(limit: number) {
    const letters = await this.deps.inspector.peekDeadLetters(limit);
    const views = letters.map(deadLetterView);
    const ids = [...new Set(views.map((v) => v.taskId).filter((id): id is string => id !== null))];
    const statuses = ids.length ? await this.deps.admin.statuses(ids) : new Map<string, TaskStatus>();
    return views.map((v) => ({ ...v, taskStatus: (v.taskId && statuses.get(v.taskId)) || null }));
  }

  removeDeadLetter(sequenceNumber: string): Promise<RemoveOutcome> {
    return this.deps.inspector.removeDeadLetter(sequenceNumber, REMOVE_SCAN_LIMIT);
  }
}

/** A dead letter as operators see it: what kind of message it was and what it pointed at. */
function deadLetterView(letter: DeadLetter): Omit<DeadLetterJson, 'taskStatus'> {
  const body = bodyObject(letter.body);
  const taskId = typeof body?.taskId === 'string' ? body.taskId : null;
  const number = (v: unknown) => (typeof v === 'number' ? v : null);
  const kind = !taskId ? 'other' : typeof body?.webhook === 'number' ? 'webhook' : 'slice';
  return {
    sequenceNumber: letter.sequenceNumber,
    messageId: letter.messageId,
    kind,
    taskId,
    slice: number(body?.slice),
    attempt: number(body?.attempt),
    webhook: number(body?.webhook),
    body: letter.body,
    reason: letter.reason,
    description: letter.description,
    enqueuedAt: letter.enqueuedAt?.toISOString() ?? null,
    deliveryCount: letter.deliveryCount,
    deadLetterSource: letter.deadLetterSource,
  };
}

/** The body as an object: the SDK hands JSON over parsed, or as a string when the sender sent text. */
function bodyObject(body: unknown): Record<string, unknown> | undefined {
  const value = parseMessageBody(body);
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}
