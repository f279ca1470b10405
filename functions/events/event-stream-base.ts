import type { TaskRow } from '../model/task';
import { describeError } from '../platform/describe-error';
import { appMetrics } from '../platform/metrics';
import type { EventRepository } from '../storage/event-repository';
import type { TaskRepository } from '../storage/task-repository';
import type { SubscriptionHub } from './subscription-hub';

export interface StreamTimings {
  keepAliveMs: number;
  maxDurationMs: number;
  pollMs: number;
}

export const DEFAULT_TIMINGS: Omit<StreamTimings, 'maxDurationMs'> = { keepAliveMs: 15_000, pollMs: 1_500 };

/** What a stream writes; the HTTP layer frames it as SSE. */
export interface StreamSink {
  retry(ms: number): void;
  event(type: string, data: unknown, id?: number): void;
  comment(text: string): void;
  close(): void;
  /** A failure the stream survives (a Postgres read it retries at the next poll): for the operator's log. */
  warn(message: string): void;
}

/** What every stream is built on: where it reads history, the live hub, how a task is shown, where it writes, when. */
export interface StreamDeps {
  store: { tasks: TaskRepository; events: EventRepository };
  hub: SubscriptionHub;
  taskView: (row: TaskRow) => unknown;
  sink: StreamSink;
  timings: StreamTimings;
}

/**
 * Told to the client once each time live delivery stops (or from the start, without Redis); the stream then reads
 * Postgres every poll period. `data.delivery` lets a client show it (the web UI's "Polling").
 */
export const POLLING_NOTICE = {
  level: 'warn',
  message: 'Live updates are unavailable; reading from the database every few seconds.',
  data: { delivery: 'polling' },
};

/** Told once when live delivery is back after a POLLING_NOTICE. */
export const LIVE_NOTICE = { level: 'info', message: 'Live updates are back.', data: { delivery: 'live' } };

/**
 * What every event stream shares: writing through the sink, keep-alives, the maximum duration, stopping, and falling
 * back to Postgres while the live source (Redis) is down.
 */
export abstract class EventStreamBase {
  protected closed = false;
  private lastWriteAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: Array<() => void> = [];
  private pollingAnnounced = false;
  /** A catch-up after a reconnect failed: the next poll runs it, live or not, until it succeeds. */
  private catchUpOwed = false;

  protected readonly store: StreamDeps['store'];
  protected readonly hub: SubscriptionHub;
  protected readonly taskView: StreamDeps['taskView'];
  protected readonly sink: StreamSink;
  protected readonly timings: StreamTimings;

  constructor(deps: StreamDeps) {
    ({
      store: this.store,
      hub: this.hub,
      taskView: this.taskView,
      sink: this.sink,
      timings: this.timings,
    } = deps);
  }

  private starting = true;
  private reconnectedWhileStarting = false;

  abstract start(): Promise<void>;

  /**
   * Starts the stream: the client's reconnect delay, the live subscription, and a catch-up from Postgres after each
   * reconnect of the live source. Subscribes before the stream takes its snapshot, so nothing falls in between.
   */
  protected async subscribe(live: () => Promise<() => void>): Promise<void> {
    this.sink.retry(2_000);
    this.onStop(await live());
    this.onStop(this.hub.onReconnect(() => this.reconnected()));
  }

  /** Reads from Postgres what the live source may have dropped (see `reconnected`). */
  protected abstract catchUp(): Promise<void>;

  /** A poll period passed with live delivery up (a stream that polls by time moves its mark here). */
  protected whileLive(): void {}

  /**
   * The live source is back after a reconnect: what was published meanwhile never arrives live, so read it. During
   * start (before the snapshot is written) the read waits for `started`, so nothing goes out ahead of the snapshot.
   */
  protected reconnected(): void {
    if (this.starting) this.reconnectedWhileStarting = true;
    else void this.catchUp().catch((err: unknown) => this.catchUpFailed(err));
  }

  /** Ends start: catches up on a reconnect that happened during it, then polls while live delivery is down. */
  protected async started(): Promise<void> {
    this.starting = false;
    if (this.reconnectedWhileStarting) await this.catchUp();
  }

  /** Stops without an `end` (the client went away, or the stream reached its maximum duration). */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const cleanup of this.cleanups) cleanup();
    this.sink.close();
  }

  /**
   * Every poll period: reads Postgres while live delivery is down (the client is told once), then a keep-alive if
   * nothing was written; closes the stream after its maximum duration. Nothing when the stream stopped already (the
   * client left while it was starting), or the interval would run forever.
   */
  protected schedulePolling(): void {
    if (this.closed) return;
    this.timers.push(
      setInterval(
        () => {
          void this.poll()
            .catch((err: unknown) => this.catchUpFailed(err))
            .then(() => this.keepAlive());
        },
        Math.min(this.timings.keepAliveMs, this.timings.pollMs),
      ),
    );
    this.timers.push(setTimeout(() => this.stop(), this.timings.maxDurationMs));
  }

  private async poll(): Promise<void> {
    if (this.hub.live) {
      if (this.pollingAnnounced) this.write('log', LIVE_NOTICE);
      this.pollingAnnounced = false;
      if (this.catchUpOwed) await this.catchUp();
      this.catchUpOwed = false;
      this.whileLive();
      return;
    }
    if (!this.pollingAnnounced) {
      this.write('log', POLLING_NOTICE);
      this.pollingAnnounced = true;
    }
    await this.catchUp();
    this.catchUpOwed = false;
  }

  /** The next poll tries again; the operator learns why events may arrive late. */
  protected catchUpFailed(err: unknown): void {
    this.catchUpOwed = true;
    appMetrics().sseErrors.add(1, { kind: 'catch_up_failed' });
    this.sink.warn(
      `reading missed events from Postgres failed (retried at the next poll): ${describeError(err)}`,
    );
  }

  /** Runs `cleanup` when the stream stops, or at once when it has stopped already. */
  protected onStop(cleanup: () => void): void {
    if (this.closed) cleanup();
    else this.cleanups.push(cleanup);
  }

  protected write(type: string, data: unknown, id?: number): void {
    this.send(() => this.sink.event(type, data, id));
  }

  private keepAlive(): void {
    if (Date.now() - this.lastWriteAt >= this.timings.keepAliveMs)
      this.send(() => this.sink.comment('keep-alive'));
  }

  /** A write that throws means the client is gone (the Functions host gives no other signal). */
  private send(write: () => void): void {
    if (this.closed) return;
    try {
      write();
      this.lastWriteAt = Date.now();
    } catch {
      this.stop();
    }
  }
}
