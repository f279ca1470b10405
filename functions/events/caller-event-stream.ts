import type { TaskRepository, TaskRow } from '../storage/task-repository';
import { ALL_OWNERS_PATTERN, eventJson, ownerChannel, type EventJson } from './event-json';
import { EventStreamBase } from './event-stream-base';
import type { SubscriptionHub } from './subscription-hub';
import type { StreamSink, StreamTimings } from './task-event-stream';

const SNAPSHOT_LIMIT = 100;
const POLL_PAGE = 500;

/**
 * Every event of one caller's tasks on one connection (design §3), so a dashboard needs a single stream: a snapshot of
 * the unfinished tasks, then live events from the caller's Redis channel. An admin (owner undefined) gets every
 * owner's, through a pattern subscription. No ids: a reconnect gets a fresh snapshot. While Redis is down it reads
 * Postgres instead.
 */
export class CallerEventStream extends EventStreamBase {
  /** Highest seq sent per task, to drop what polling and live delivery both bring. */
  private readonly lastSeq = new Map<string, number>();
  private polledUntil = new Date();
  private pollingAnnounced = false;

  constructor(
    private readonly owner: string | undefined,
    private readonly repository: TaskRepository,
    private readonly hub: SubscriptionHub,
    private readonly taskView: (row: TaskRow) => unknown,
    sink: StreamSink,
    timings: StreamTimings,
  ) {
    super(sink, timings);
  }

  async start(): Promise<void> {
    this.sink.retry(2_000);
    const deliver = (event: EventJson) => this.deliver(event);
    this.onStop(
      await (this.owner === undefined
        ? this.hub.subscribe(ALL_OWNERS_PATTERN, deliver, true)
        : this.hub.subscribe(ownerChannel(this.owner), deliver)),
    );
    this.onStop(this.hub.onReconnect(() => this.reconnected()));
    this.polledUntil = new Date();
    const tasks = await this.repository.unfinished(this.owner, SNAPSHOT_LIMIT);
    this.write('snapshot', { tasks: tasks.map(this.taskView) });
    await this.started();
    this.schedule(() => this.tick());
  }

  private deliver(event: EventJson): void {
    if ((this.lastSeq.get(event.taskId) ?? 0) >= event.seq) return;
    this.lastSeq.set(event.taskId, event.seq);
    this.write(event.type, event);
  }

  private async tick(): Promise<void> {
    if (this.hub.live) {
      this.pollingAnnounced = false;
      this.polledUntil = new Date(Date.now() - this.timings.pollMs);
      return;
    }
    if (!this.pollingAnnounced) {
      this.write('log', {
        level: 'warn',
        message: 'Live updates are unavailable; reading from the database.',
      });
      this.pollingAnnounced = true;
    }
    await this.catchUp();
  }

  protected async catchUp(): Promise<void> {
    const rows = await this.repository.eventsOfOwnerSince(this.owner, this.polledUntil, POLL_PAGE);
    for (const row of rows) this.deliver(eventJson(row));
    if (rows.length > 0) this.polledUntil = rows[rows.length - 1].at;
  }
}
