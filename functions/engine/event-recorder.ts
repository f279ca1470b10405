import type { LiveEventPublisher } from '../events/redis-event-publisher';
import { withTransientRetry } from '../platform/transient-retry';
import type { TaskEventRow } from '../model/events';
import type { EventRepository } from '../storage/event-repository';
import type { TaskRepository } from '../storage/task-repository';
import type { LogLevel, TaskProgress } from './define-task';

const PROGRESS_PERSIST_MS = 1_000;
/** Live progress is throttled to about ten events a second per task. */
const PROGRESS_LIVE_MS = 100;

type Progress = TaskProgress & { step?: string };

type NewEvent = { type: TaskEventRow['type']; level?: string; message?: string; data?: unknown };

/** Postgres' duplicate key error. */
const UNIQUE_VIOLATION = '23505';

/**
 * The events of one task while this worker holds its lease (design §3). Every event gets the next `seq`. Status and
 * log events are persisted, then published. Progress is published live about ten times a second as ephemeral events,
 * and persisted at most once a second and at every step boundary, published again once stored. A progress that went
 * out live is stored under the seq it went out with, so streams (which drop a seq they sent) show each change once;
 * one that did not gets the next seq. So every persisted event is published after it is stored: a client that replays
 * from Postgres and then listens live misses no persisted event.
 */
export class EventRecorder {
  /** The latest progress; `seq` once it went out live. */
  private latest: { progress: Progress; published: boolean; persisted: boolean; seq?: number } | undefined;
  private lastLiveAt = 0;
  private lastProgressAt = 0;
  private liveTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly taskId: string,
    private lastSeq: number,
    private readonly repository: Pick<TaskRepository, 'updateProgress'>,
    private readonly history: Pick<EventRepository, 'append'>,
    private readonly live: LiveEventPublisher | undefined,
    private readonly onError: (err: unknown) => void,
  ) {}

  status(status: string, error?: { code: string; message: string }): Promise<void> {
    return this.append({ type: 'status', data: error ? { status, error } : { status } });
  }

  /**
   * A status event written with the row it changes (`write`, one statement or transaction: the task ending, or
   * starting to wait), after every event before it; published once written. Errors reach the caller: the status did
   * not change. Answers what `write` answered (undefined: the change was refused, and no event was written).
   */
  statusChange<T>(
    write: (seq: number) => Promise<{ task: T; event: TaskEventRow } | undefined>,
  ): Promise<T | undefined> {
    const seq = ++this.lastSeq;
    const next = this.chain.then(async () => {
      const ended = await write(seq);
      if (!ended) {
        // Nothing was written under that seq; the next event takes it.
        if (this.lastSeq === seq) this.lastSeq--;
        return undefined;
      }
      this.live?.publish(ended.event);
      return ended.task;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  log(level: LogLevel, message: string, data?: unknown): Promise<void> {
    return this.append({ type: 'log', level, message, data });
  }

  progress(progress: Progress): void {
    this.latest = { progress, published: false, persisted: false };
    const now = Date.now();
    if (now - this.lastLiveAt >= PROGRESS_LIVE_MS) this.publishLatest();
    else this.liveTimer ??= setTimeout(() => this.publishLatest(), this.lastLiveAt + PROGRESS_LIVE_MS - now);
    const wait = this.lastProgressAt + PROGRESS_PERSIST_MS - now;
    if (wait <= 0) void this.flushProgress();
    else this.timer ??= setTimeout(() => void this.flushProgress(), wait);
  }

  /** Persists the latest progress now (step boundaries, end of slice). */
  async flushProgress(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const latest = this.latest;
    if (!latest || latest.persisted) return;
    latest.persisted = true;
    latest.published = true;
    this.lastProgressAt = Date.now();
    await Promise.all([
      this.append({ type: 'progress', data: latest.progress }, latest.seq),
      withTransientRetry(() => this.repository.updateProgress(this.taskId, { ...latest.progress })).catch(
        this.onError,
      ),
    ]);
  }

  /** Publishes the latest progress live only (an ephemeral event), after every event before it. */
  private publishLatest(): void {
    clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    const latest = this.latest;
    if (!latest || latest.published || !this.live) return;
    latest.published = true;
    latest.seq = ++this.lastSeq;
    this.lastLiveAt = Date.now();
    const row: TaskEventRow = {
      taskId: this.taskId,
      seq: latest.seq,
      at: new Date(),
      type: 'progress',
      level: null,
      message: null,
      data: latest.progress,
    };
    void this.enqueue(async () => this.live?.publish(row));
  }

  /** Waits for every write in flight. */
  async drain(): Promise<void> {
    clearTimeout(this.liveTimer);
    await this.flushProgress();
    await this.chain;
  }

  /** Persists, then publishes, in order: under `liveSeq` for a progress that went out live, else the next seq. */
  private append(event: NewEvent, liveSeq?: number): Promise<void> {
    const seq = liveSeq ?? ++this.lastSeq;
    return this.enqueue(async () => {
      const row = await this.store({ ...event, seq });
      this.live?.publish(row);
    });
  }

  /**
   * Writes one event, retrying transient Postgres errors (a restart, a dropped connection) with backoff; the events
   * after it wait, so the order holds. (task_id, seq) is the key and only this worker writes its seqs, so a duplicate
   * key on a retry means the try before committed and only its answer was lost: the event is stored.
   */
  private async store(event: NewEvent & { seq: number }): Promise<TaskEventRow> {
    let tries = 0;
    try {
      return await withTransientRetry(() => {
        tries++;
        return this.history.append(this.taskId, event);
      });
    } catch (err) {
      if (tries > 1 && (err as { code?: string }).code === UNIQUE_VIOLATION) {
        const { type, seq, level, message, data } = event;
        return {
          taskId: this.taskId,
          seq,
          at: new Date(),
          type,
          level: level ?? null,
          message: message ?? null,
          data: data ?? null,
        };
      }
      throw err;
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work).catch(this.onError);
    this.chain = next;
    return next;
  }
}
