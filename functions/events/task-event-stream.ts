import type { TaskEventRow } from '../model/events';
import { isFinished, type TaskRow } from '../model/task';
import { eventJson, type EventJson } from './event-json';
import { EventStreamBase, type StreamDeps } from './event-stream-base';

const REPLAY_PAGE = 500;

/**
 * One task's event stream (design §3): snapshot, replay after Last-Event-ID, then live events from Redis deduplicated
 * by seq, ending after the terminal status. Subscribes before taking the snapshot so nothing falls in between; while
 * Redis is down it reads Postgres every `pollMs` instead, and says so once.
 */
export class TaskEventStream extends EventStreamBase {
  private lastSent = 0;
  private replaying = true;
  private buffered: EventJson[] = [];

  constructor(
    private readonly task: TaskRow,
    private readonly lastEventId: number | undefined,
    deps: StreamDeps,
  ) {
    super(deps);
  }

  async start(): Promise<void> {
    await this.subscribe(() =>
      this.hub.subscribe(this.hub.channels.task(this.task.id), (event) => this.onLive(event)),
    );
    const snapshotSeq = await this.store.events.lastSeq(this.task.id);
    const current = (await this.store.tasks.find(this.task.id)) ?? this.task;
    this.write('snapshot', this.taskView(current), snapshotSeq);
    // The snapshot stands for everything up to its id; a reconnecting client asks for what it missed since its last
    // event, which may also be ahead of the snapshot (live progress is not all persisted).
    this.lastSent = this.lastEventId ?? snapshotSeq;
    if (this.lastSent < snapshotSeq) await this.catchUp();
    this.replaying = false;
    for (const e of this.buffered) this.deliver(e);
    this.buffered = [];
    await this.started();
    if (isFinished(current.status)) return this.end(current.status);
    this.schedulePolling();
  }

  private onLive(event: EventJson): void {
    if (this.replaying) this.buffered.push(event);
    else if (event.seq > this.lastSent + 1) void this.fillGap(event);
    else this.deliver(event);
  }

  /**
   * A live event past a gap in seq: the events between were persisted but never published (a worker whose Postgres
   * write failed as it committed), or were live-only progress that Redis dropped. Reads what Postgres has of them
   * first, holding live events meanwhile, so the stream stays in order and misses nothing that was persisted.
   */
  private async fillGap(event: EventJson): Promise<void> {
    this.replaying = true;
    this.buffered.push(event);
    try {
      await this.catchUp();
    } catch (err) {
      this.catchUpFailed(err);
    } finally {
      this.replaying = false;
      const held = this.buffered;
      this.buffered = [];
      for (const e of held) this.deliver(e);
    }
  }

  private deliver(event: EventJson): void {
    if (this.closed || event.seq <= this.lastSent) return;
    this.write(event.type, event, event.seq);
    this.lastSent = event.seq;
    if (event.type === 'status' && isFinished(String(event.status))) this.end(String(event.status));
  }

  /** Sends the persisted events after the last one sent. */
  protected async catchUp(): Promise<void> {
    for (;;) {
      const rows: TaskEventRow[] = await this.store.events.page(this.task.id, this.lastSent, REPLAY_PAGE);
      for (const row of rows) this.deliver(eventJson(row));
      if (rows.length < REPLAY_PAGE || this.closed) return;
    }
  }

  private end(status: string): void {
    if (this.closed) return;
    this.write('end', { status });
    this.stop();
  }
}
