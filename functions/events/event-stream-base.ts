import type { StreamSink, StreamTimings } from './task-event-stream';

/** What every event stream shares: writing through the sink, keep-alives, the maximum duration, and stopping. */
export abstract class EventStreamBase {
  protected closed = false;
  private lastWriteAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: Array<() => void> = [];

  constructor(
    protected readonly sink: StreamSink,
    protected readonly timings: StreamTimings,
  ) {}

  private starting = true;
  private reconnectedWhileStarting = false;

  abstract start(): Promise<void>;

  /** Reads from Postgres what the live source may have dropped (see `reconnected`). */
  protected abstract catchUp(): Promise<void>;

  /**
   * The live source is back after a reconnect: what was published meanwhile never arrives live, so read it. During
   * start (before the snapshot is written) the read waits for `started`, so nothing goes out ahead of the snapshot.
   */
  protected reconnected(): void {
    if (this.starting) this.reconnectedWhileStarting = true;
    else void this.catchUp().catch(() => undefined);
  }

  /** Ends start: catches up on a reconnect that happened during it. */
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
   * Runs `tick` every poll period and closes the stream after its maximum duration; nothing when the stream stopped
   * already (the client left while it was starting), or the interval would run forever.
   */
  protected schedule(tick: () => Promise<void>): void {
    if (this.closed) return;
    this.timers.push(
      setInterval(
        () => {
          void tick()
            .catch(() => undefined)
            .then(() => this.keepAlive());
        },
        Math.min(this.timings.keepAliveMs, this.timings.pollMs),
      ),
    );
    this.timers.push(setTimeout(() => this.stop(), this.timings.maxDurationMs));
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
