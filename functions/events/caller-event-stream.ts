import { eventJson, type EventJson } from './event-json';
import { EventStreamBase, type StreamDeps } from './event-stream-base';

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
  /** Live events that arrive before the snapshot is written, held so that the snapshot always comes first. */
  private held: EventJson[] | undefined = [];
  private polledUntil = new Date();

  constructor(
    private readonly owner: string | undefined,
    deps: StreamDeps,
  ) {
    super(deps);
  }

  async start(): Promise<void> {
    const deliver = (event: EventJson) => (this.held ? void this.held.push(event) : this.deliver(event));
    await this.subscribe(() =>
      this.owner === undefined
        ? this.hub.subscribe(this.hub.channels.allOwners, deliver, true)
        : this.hub.subscribe(this.hub.channels.owner(this.owner), deliver),
    );
    this.polledUntil = new Date();
    const tasks = await this.store.tasks.unfinished(this.owner, SNAPSHOT_LIMIT);
    this.write('snapshot', { tasks: tasks.map(this.taskView) });
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.deliver(event);
    await this.started();
    this.schedulePolling();
  }

  private deliver(event: EventJson): void {
    if ((this.lastSeq.get(event.taskId) ?? 0) >= event.seq) return;
    this.lastSeq.set(event.taskId, event.seq);
    this.write(event.type, event);
  }

  /** Live delivery is up: a later outage polls from one period back, so nothing published meanwhile is missed. */
  protected override whileLive(): void {
    this.polledUntil = new Date(Date.now() - this.timings.pollMs);
  }

  protected async catchUp(): Promise<void> {
    const rows = await this.store.events.ofOwnerSince(this.owner, this.polledUntil, POLL_PAGE);
    for (const row of rows) this.deliver(eventJson(row));
    if (rows.length > 0) this.polledUntil = rows[rows.length - 1].at;
  }
}
