import type { LonghaulClient, Task, TaskEvent, TaskStatus, WatchItem } from '../longhaul-client';

/** What following one task's SSE stream to its end saw. */
export interface Followed {
  /** One per connection: each connection starts with a snapshot. `at` is when it arrived (ms, performance.now). */
  snapshots: Array<{ at: number; seq: number; task: Task }>;
  /** Every event, in arrival order, across reconnects. */
  events: TaskEvent[];
  end: TaskStatus;
  /** Connections that failed or broke off, each a reason (watch() reconnected after each). */
  connectionErrors: string[];
}

/**
 * Follows a task's stream (`GET /api/tasks/{id}/events`, `Accept: text/event-stream`) until its `end` frame.
 * The first connection sends `Last-Event-ID: 0`, so the whole persisted history is replayed and can be checked
 * against `GET /api/tasks/{id}/events` afterwards; later connections are the client's own reconnects.
 */
export async function followTask(
  client: LonghaulClient,
  id: string,
  options: {
    signal: AbortSignal;
    note: (doing: string) => void;
    onItem?: (item: WatchItem) => Promise<void> | void;
  },
): Promise<Followed> {
  const seen: Omit<Followed, 'end'> = { snapshots: [], events: [], connectionErrors: [] };
  let status: string = 'queued';
  const stream = client.watch(id, {
    signal: options.signal,
    lastEventId: '0',
    onConnectionError: (err) => seen.connectionErrors.push(err.message),
  });
  for await (const item of stream) {
    if (item.kind === 'snapshot') {
      seen.snapshots.push({ at: performance.now(), seq: item.seq, task: item.task });
      status = item.task.status;
    } else if (item.kind === 'event') {
      seen.events.push(item.event);
      if (item.event.type === 'status') status = String(item.event.status);
    } else {
      return { ...seen, end: item.status };
    }
    const lastError = seen.connectionErrors.at(-1);
    options.note(
      `following task ${id} (${status}; ${seen.events.length} events over ${seen.snapshots.length} connection(s)` +
        `${lastError ? `; last connection error: ${lastError}` : ''})`,
    );
    await options.onItem?.(item);
  }
  throw new Error(`the stream of task ${id} stopped before its end event`);
}

/** Every persisted event of a task, oldest first, page by page. */
export async function persistedEvents(
  client: LonghaulClient,
  id: string,
  signal?: AbortSignal,
): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  let after = 0;
  for (;;) {
    signal?.throwIfAborted();
    const page = await client.events(id, { after, limit: 1000 });
    events.push(...page.items);
    if (page.nextCursor === null || page.items.length === 0) return events;
    after = Number(page.nextCursor);
  }
}

/**
 * Invariant 4 as a client sees it: the seqs received are strictly increasing (nothing twice, nothing out of order)
 * and every persisted event up to the last one received is among them. Live-only progress events also take seqs, so
 * gaps between persisted seqs are allowed; events persisted after the stream ended (an admin's retry) are not
 * expected on it. Returns the problems, none when the stream was right.
 */
export function streamProblems(received: readonly number[], persisted: readonly number[]): string[] {
  const problems: string[] = [];
  const repeated: number[] = [];
  const disordered: string[] = [];
  const got = new Set<number>();
  let last = 0;
  for (const seq of received) {
    if (got.has(seq)) repeated.push(seq);
    else if (seq < last) disordered.push(`${seq} after ${last}`);
    got.add(seq);
    last = Math.max(last, seq);
  }
  if (repeated.length) problems.push(`seen twice: ${list(repeated)}`);
  if (disordered.length) problems.push(`out of order: ${list(disordered)}`);
  const missed = persisted.filter((seq) => seq <= last && !got.has(seq));
  if (missed.length) problems.push(`persisted but never received: ${list(missed)}`);
  return problems;
}

/** Follows, then checks the stream against the persisted history; throws naming what went wrong. */
export async function followAndVerify(
  client: LonghaulClient,
  id: string,
  options: Parameters<typeof followTask>[2],
): Promise<Followed & { persisted: number }> {
  const followed = await followTask(client, id, options);
  options.note(`reading the persisted events of task ${id}`);
  const persisted = (await persistedEvents(client, id, options.signal)).map((e) => e.seq);
  const problems = streamProblems(
    followed.events.map((e) => e.seq),
    persisted,
  );
  if (problems.length) throw new Error(`the stream of task ${id} is wrong: ${problems.join('; ')}`);
  return { ...followed, persisted: persisted.length };
}

/** `'{events} events over {n} connection(s)'`, for details. */
export function streamSummary(followed: Followed): string {
  const n = followed.snapshots.length;
  return `${followed.events.length} events over ${n} connection${n === 1 ? '' : 's'}`;
}

function list(items: ReadonlyArray<number | string>): string {
  return items.length > 10 ? `${items.slice(0, 10).join(', ')} … (${items.length})` : items.join(', ');
}
