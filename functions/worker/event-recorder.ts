import type { TaskEventRow, TaskRepository } from '../storage/task-repository';
import type { LogLevel, TaskProgress } from '../tasks/define-task';

/** Where events go besides Postgres (live fan-out); best effort, it must never fail or slow the task. */
export interface LiveEventPublisher {
  publish(event: TaskEventRow): void;
}

const PROGRESS_PERSIST_MS = 1_000;

/**
 * The events of one task while this worker holds its lease: assigns `seq`, persists status and log events at once,
 * and persists progress at most once a second and at every step boundary (design §3).
 */
export class EventRecorder {
  private pendingProgress: (TaskProgress & { step?: string }) | undefined;
  private lastProgressAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly taskId: string,
    private lastSeq: number,
    private readonly repository: TaskRepository,
    private readonly live: LiveEventPublisher | undefined,
    private readonly onError: (err: unknown) => void,
  ) {}

  status(status: string, error?: { code: string; message: string }): Promise<void> {
    return this.append({ type: 'status', data: error ? { status, error } : { status } });
  }

  log(level: LogLevel, message: string, data?: unknown): Promise<void> {
    return this.append({ type: 'log', level, message, data });
  }

  progress(progress: TaskProgress & { step?: string }): void {
    this.pendingProgress = progress;
    const wait = this.lastProgressAt + PROGRESS_PERSIST_MS - Date.now();
    if (wait <= 0) void this.flushProgress();
    else this.timer ??= setTimeout(() => void this.flushProgress(), wait);
  }

  /** Persists the latest progress now (step boundaries, end of slice). */
  async flushProgress(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const progress = this.pendingProgress;
    if (!progress) return;
    this.pendingProgress = undefined;
    this.lastProgressAt = Date.now();
    await Promise.all([
      this.append({ type: 'progress', data: progress }),
      this.repository.updateProgress(this.taskId, { ...progress }).catch(this.onError),
    ]);
  }

  /** Waits for every write in flight. */
  async drain(): Promise<void> {
    await this.flushProgress();
    await this.chain;
  }

  /** Appends in order: each event's seq is one more than the last. */
  private append(event: {
    type: TaskEventRow['type'];
    level?: string;
    message?: string;
    data?: unknown;
  }): Promise<void> {
    const seq = ++this.lastSeq;
    const write = this.chain.then(async () => {
      try {
        const row = await this.repository.appendEvent(this.taskId, { ...event, seq });
        this.live?.publish(row);
      } catch (err) {
        this.onError(err);
      }
    });
    this.chain = write;
    return write;
  }
}
