import type { Pool, PoolClient } from 'pg';
import type { TaskEventRow } from '../model/events';
import {
  ACTIVE_STATUSES,
  RUNNABLE_STATUSES,
  type FinishedStatus,
  type TaskError,
  type TaskRow,
  type TaskStatus,
  UUID_SHAPE,
  type Waiting,
} from '../model/task';
import { sqlList } from './sql-list';
import { COLUMNS } from './task-columns';

export interface NewTask {
  id: string;
  type: string;
  owner: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  inputRef: string;
  inputBytes: number;
  traceId: string | null;
  traceContext?: string | null;
  callbackUrl?: string | null;
  rerunOf?: string | null;
  maxDurationSeconds?: number | null;
}

/** A wait the engine records when a slice ends on a sleep or a signal wait (`suspend`). */
export interface Suspension {
  waiting: Waiting;
  /** When the message that wakes it is due (null: only a signal wakes it). */
  wakeAt: Date | null;
  wakeSlice: number;
}

/** Why a slice could not leave its task waiting. */
export type SuspendRefusal = 'signalled' | 'cancelRequested' | 'notRunning';

/** A signal as stored: the first one of its name. */
export interface StoredSignal {
  name: string;
  payload: unknown;
  sender: string;
  idempotencyKey: string | null;
  receivedAt: Date;
}

export type SignalDelivery =
  | { kind: 'notFound' }
  | { kind: 'finished'; task: TaskRow }
  /** Kept; `task` is the row as it was when the signal was stored (waiting for it, or not yet). */
  | { kind: 'stored'; task: TaskRow; signal: StoredSignal }
  /** One of that name was kept before. */
  | { kind: 'exists'; task: TaskRow; signal: StoredSignal };

const SIGNAL_COLUMNS = `name, payload, sender, idempotency_key AS "idempotencyKey", received_at AS "receivedAt"`;

/** Which tasks a list, a count or a bulk action covers. */
export interface TaskFilter {
  /** Undefined: every owner's tasks (admins). */
  owner: string | undefined;
  status?: TaskStatus;
  type?: string;
  /** The start of the id's canonical text (lower-case hex with dashes), e.g. `3f2a` or `3f2a1b9c-7d`. */
  idPrefix?: string;
  /** Created at or after. */
  createdAfter?: Date;
  /** Created before. */
  createdBefore?: Date;
}

export interface ListQuery extends TaskFilter {
  limit: number;
  /** Keyset position: tasks strictly older than this one. */
  after?: { createdAt: Date; id: string };
}

/** The lowest and highest UUIDs with this prefix: a range the primary key's index answers (uuids sort as hex text). */
function idRange(prefix: string): [string, string] {
  const fill = (digit: string) => prefix + UUID_SHAPE.slice(prefix.length).replace(/0/g, digit);
  return [fill('0'), fill('f')];
}

/** The filter as an SQL condition, its values appended to `params` (nothing of the filter is written into the SQL). */
function filterSql(filter: TaskFilter, params: unknown[]): string {
  const bind = (value: unknown) => `$${params.push(value)}`;
  const clauses: string[] = [];
  if (filter.owner !== undefined) clauses.push(`owner = ${bind(filter.owner)}`);
  if (filter.status !== undefined) clauses.push(`status = ${bind(filter.status)}`);
  if (filter.type !== undefined) clauses.push(`type = ${bind(filter.type)}`);
  if (filter.idPrefix !== undefined) {
    const [low, high] = idRange(filter.idPrefix);
    clauses.push(`id BETWEEN ${bind(low)}::uuid AND ${bind(high)}::uuid`);
  }
  if (filter.createdAfter !== undefined) clauses.push(`created_at >= ${bind(filter.createdAfter)}`);
  if (filter.createdBefore !== undefined) clauses.push(`created_at < ${bind(filter.createdBefore)}`);
  return clauses.length > 0 ? clauses.join(' AND ') : 'true';
}

/** On the change to a terminal status: a task with a callback URL gets a delivery due now. */
const CALLBACK_DUE = `callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END,
  callback_due_at = CASE WHEN callback_url IS NULL THEN NULL ELSE now() END`;

const ACTIVE = sqlList(ACTIVE_STATUSES);
const RUNNABLE = sqlList(RUNNABLE_STATUSES);
/** A task that leaves `waiting` (it runs again, or ends) no longer waits for anything. */
const NOT_WAITING = 'waiting = NULL, wake_at = NULL, wake_slice = NULL';

type EventJsonRow = Omit<TaskEventRow, 'at'> & { at: string };

/** First key of the advisory lock that serializes one owner's submits (the second is the owner's hash). */
const ACTIVE_TASKS_LOCK = 0x4c48_0001;

/** The insert of `TaskRepository.insert`, on the pool or on a transaction's client; undefined when the key is taken. */
async function insertTask(db: Pool | PoolClient, task: NewTask): Promise<TaskRow | undefined> {
  const { rows } = await db.query<TaskRow>(
    `WITH t AS (
       INSERT INTO tasks (id, type, status, owner, idempotency_key, request_hash, input_ref, input_bytes, trace_id,
         callback_url, trace_context, rerun_of, max_duration_seconds)
       VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING *),
     e AS (
       INSERT INTO task_events (task_id, seq, type, data, at)
       SELECT id, 1, 'status', '{"status": "queued"}', created_at FROM t)
     SELECT ${COLUMNS} FROM t`,
    [
      task.id,
      task.type,
      task.owner,
      task.idempotencyKey,
      task.requestHash,
      task.inputRef,
      task.inputBytes,
      task.traceId,
      task.callbackUrl ?? null,
      task.traceContext ?? null,
      task.rerunOf ?? null,
      task.maxDurationSeconds ?? null,
    ],
  );
  return rows[0];
}

/** Runs `work` in a transaction on one client of the pool. */
async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The `tasks` table (a task's first and cancel events are written with its row, in one statement). */
export class TaskRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Inserts a task and its first event, `status: queued` (seq 1), in one statement: before any worker can append.
   * Answers `duplicate` when the caller's Idempotency-Key is already taken, and `limited` when `activeLimit` (0: none)
   * of the owner's tasks are queued or running already. The count and the insert run in one transaction under an
   * advisory lock on the owner, so parallel submits of one caller take turns and cannot all count the same snapshot
   * (a conditional INSERT alone would let each of them see room for itself).
   */
  async insert(task: NewTask, activeLimit = 0): Promise<TaskRow | 'duplicate' | 'limited'> {
    if (activeLimit === 0) return (await insertTask(this.pool, task)) ?? 'duplicate';
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ACTIVE_TASKS_LOCK, task.owner]);
      // Read after the lock: in READ COMMITTED each statement sees what the previous lock holder committed. Waiting
      // tasks hold no worker, so they do not count.
      const { rows } = await client.query<{ active: number }>(
        `SELECT count(*)::int AS active FROM tasks WHERE owner = $1 AND status IN (${RUNNABLE})`,
        [task.owner],
      );
      const row = rows[0].active < activeLimit ? await insertTask(client, task) : 'limited';
      return row ?? 'duplicate';
    });
  }

  async find(id: string, owner?: string): Promise<TaskRow | undefined> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND ($2::text IS NULL OR owner = $2)`,
      [id, owner ?? null],
    );
    return rows[0];
  }

  async findByIdempotencyKey(owner: string, key: string): Promise<TaskRow | undefined> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE owner = $1 AND idempotency_key = $2`,
      [owner, key],
    );
    return rows[0];
  }

  async list(q: ListQuery): Promise<TaskRow[]> {
    const params: unknown[] = [];
    let where = filterSql(q, params);
    if (q.after)
      where += ` AND (created_at, id) < ($${params.push(q.after.createdAt)}, $${params.push(q.after.id)}::uuid)`;
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.push(q.limit)}`,
      params,
    );
    return rows;
  }

  /** How many tasks the filter covers, by status (statuses with none are absent). */
  async countByStatus(filter: TaskFilter): Promise<Map<TaskStatus, number>> {
    const params: unknown[] = [];
    const { rows } = await this.pool.query<{ status: TaskStatus; count: number }>(
      `SELECT status, count(*)::int AS count FROM tasks WHERE ${filterSql(filter, params)} GROUP BY status`,
      params,
    );
    return new Map(rows.map((r) => [r.status, r.count]));
  }

  /**
   * Up to `limit` ids of tasks the filter covers that are in one of `statuses`, oldest first (bulk actions); with
   * `uncancelled`, only those not asked to stop yet.
   */
  async idsIn(
    filter: TaskFilter,
    statuses: readonly TaskStatus[],
    limit: number,
    uncancelled = false,
  ): Promise<string[]> {
    const params: unknown[] = [];
    const where = filterSql(filter, params) + (uncancelled ? ' AND NOT cancel_requested' : '');
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM tasks WHERE ${where} AND status = ANY($${params.push(statuses)}::text[])
       ORDER BY created_at, id LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map((r) => r.id);
  }

  async markEnqueued(id: string): Promise<void> {
    await this.pool.query(`UPDATE tasks SET enqueued_at = now() WHERE id = $1`, [id]);
  }

  /**
   * A queued or waiting task (no worker holds it) is cancelled at once, with its `status: cancelled` event in the same
   * statement; a running one gets the request. Returns the row after the change, and the event when one was written.
   */
  async requestCancel(
    id: string,
    owner: string | undefined,
  ): Promise<{ task: TaskRow; event?: TaskEventRow } | undefined> {
    const { rows } = await this.pool.query<TaskRow & { eventSeq: number | null; eventAt: Date | null }>(
      `WITH u AS (
         UPDATE tasks SET
           cancel_requested = true,
           status = CASE WHEN status = 'running' THEN status ELSE 'cancelled' END,
           finished_at = CASE WHEN status = 'running' THEN finished_at ELSE now() END,
           callback_state = CASE WHEN status <> 'running' AND callback_url IS NOT NULL THEN 'pending'
             ELSE callback_state END,
           callback_due_at = CASE WHEN status <> 'running' AND callback_url IS NOT NULL THEN now()
             ELSE callback_due_at END,
           ${NOT_WAITING},
           updated_at = now()
         WHERE id = $1 AND ($2::text IS NULL OR owner = $2) AND status IN (${ACTIVE})
         RETURNING *),
       e AS (
         INSERT INTO task_events (task_id, seq, type, data)
         SELECT id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_events WHERE task_id = u.id), 'status',
           '{"status": "cancelled"}'
         FROM u WHERE u.status = 'cancelled'
         RETURNING seq, at)
       SELECT ${COLUMNS}, e.seq AS "eventSeq", e.at AS "eventAt" FROM u LEFT JOIN e ON true`,
      [id, owner ?? null],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { eventSeq, eventAt, ...task } = row;
    if (eventSeq === null || eventAt === null) return { task };
    const event: TaskEventRow = {
      taskId: id,
      seq: eventSeq,
      at: eventAt,
      type: 'status',
      level: null,
      message: null,
      data: { status: 'cancelled' },
    };
    return { task, event };
  }

  /**
   * Puts a failed task back to `queued` for a fresh round of attempts (attempts start again at 1, and its
   * maxDurationSeconds counts from its next start), keeping its progress; its completion webhook is owed again, and keeps counting deliveries so message ids stay unique. Records
   * a `log` event saying why and then the `status: queued` event, in the same statement. Undefined unless it was
   * failed (a concurrent retry, or retention, got there first).
   */
  async requeueFailed(
    id: string,
    note: { message: string; data: Record<string, unknown> },
  ): Promise<TaskEventRow[] | undefined> {
    const { rows } = await this.pool.query<{ events: EventJsonRow[] }>(
      `WITH u AS (
         UPDATE tasks SET status = 'queued', error = NULL, finished_at = NULL, started_at = NULL, attempts = 0,
           cancel_requested = false,
           heartbeat_at = NULL, enqueued_at = NULL, updated_at = now(), callback_state = NULL, callback_due_at = NULL,
           callback_error = NULL
         WHERE id = $1 AND status = 'failed'
         RETURNING id, (SELECT COALESCE(MAX(seq), 0) FROM task_events WHERE task_id = $1) AS last_seq),
       e AS (
         INSERT INTO task_events (task_id, seq, type, level, message, data)
         SELECT id, last_seq + 1, 'log', 'info', $2, $3::jsonb FROM u
         UNION ALL
         SELECT id, last_seq + 2, 'status', NULL, NULL, '{"status": "queued"}'::jsonb FROM u
         RETURNING task_id AS "taskId", seq, at, type, level, message, data)
       SELECT COALESCE((SELECT json_agg(e ORDER BY e.seq) FROM e), '[]'::json) AS events FROM u`,
      [id, note.message, JSON.stringify(note.data)],
    );
    const row = rows[0];
    return row && row.events.map((e) => ({ ...e, at: new Date(e.at) }));
  }

  /**
   * Moves a queued, continuing or waking task to running for `attempt` (returning the row as it was before: what it
   * waited for); undefined when it is finished already.
   */
  async markRunning(id: string, attempt: number): Promise<TaskRow | undefined> {
    const { rows } = await this.pool.query<TaskRow>(
      `UPDATE tasks SET status = 'running', attempts = GREATEST(attempts, $2), ${NOT_WAITING},
         started_at = COALESCE(started_at, now()), heartbeat_at = now(), updated_at = now()
       WHERE id = $1 AND status IN (${ACTIVE})
       RETURNING ${COLUMNS}`,
      [id, attempt],
    );
    return rows[0];
  }

  /**
   * Leaves a running task waiting, with its `status: waiting` event (seq `eventSeq`), in one transaction that locks the
   * row first: a signal delivery locks it too (`deliverSignal`), so either the signal is stored first and this refuses
   * (`signalled`: the slice runs on), or the task is waiting first and the delivery wakes it. Refused as well when a
   * cancel was requested meanwhile, or the task is no longer running.
   */
  async suspend(
    id: string,
    suspension: Suspension,
    eventSeq: number,
  ): Promise<{ task: TaskRow; event: TaskEventRow } | SuspendRefusal> {
    const { waiting, wakeAt, wakeSlice } = suspension;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{
        status: TaskStatus;
        cancelRequested: boolean;
        signalled: boolean;
      }>(
        `SELECT status, cancel_requested AS "cancelRequested",
           EXISTS (SELECT 1 FROM task_signals WHERE task_id = $1 AND name = $2 AND $3) AS signalled
         FROM tasks WHERE id = $1 FOR UPDATE`,
        [id, waiting.name, waiting.kind === 'signal'],
      );
      const row = rows[0];
      if (!row || row.status !== 'running') return 'notRunning';
      if (row.cancelRequested) return 'cancelRequested';
      if (row.signalled) return 'signalled';
      const data = { status: 'waiting', waiting };
      const updated = await client.query<TaskRow & { eventAt: Date }>(
        `WITH u AS (
           UPDATE tasks SET status = 'waiting', waiting = $2, wake_at = $3, wake_slice = $4, updated_at = now()
           WHERE id = $1 RETURNING *),
         e AS (INSERT INTO task_events (task_id, seq, type, data) SELECT id, $5, 'status', $6 FROM u RETURNING at)
         SELECT ${COLUMNS}, e.at AS "eventAt" FROM u, e`,
        [id, waiting, wakeAt, wakeSlice, eventSeq, data],
      );
      const { eventAt, ...task } = updated.rows[0];
      return {
        task,
        event: { taskId: id, seq: eventSeq, at: eventAt, type: 'status', level: null, message: null, data },
      };
    });
  }

  /**
   * Keeps the first signal of each name a task gets, under a lock on the task's row (see `suspend`). A signal for a
   * finished task is refused; `owner` undefined: any owner's task.
   */
  async deliverSignal(
    id: string,
    owner: string | undefined,
    signal: { name: string; payload: unknown; sender: string; idempotencyKey: string | null },
  ): Promise<SignalDelivery> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<TaskRow>(
        `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND ($2::text IS NULL OR owner = $2) FOR UPDATE`,
        [id, owner ?? null],
      );
      const task = rows[0];
      if (!task) return { kind: 'notFound' };
      if (!(ACTIVE_STATUSES as readonly string[]).includes(task.status)) return { kind: 'finished', task };
      const inserted = await client.query<StoredSignal>(
        `INSERT INTO task_signals (task_id, name, payload, sender, idempotency_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (task_id, name) DO NOTHING RETURNING ${SIGNAL_COLUMNS}`,
        [id, signal.name, JSON.stringify(signal.payload), signal.sender, signal.idempotencyKey],
      );
      if (inserted.rows[0]) return { kind: 'stored', task, signal: inserted.rows[0] };
      const existing = await this.signal(id, signal.name, client);
      return { kind: 'exists', task, signal: existing! };
    });
  }

  /** The signal of that name the task got, if any. */
  async signal(
    id: string,
    name: string,
    db: Pool | PoolClient = this.pool,
  ): Promise<StoredSignal | undefined> {
    const { rows } = await db.query<StoredSignal>(
      `SELECT ${SIGNAL_COLUMNS} FROM task_signals WHERE task_id = $1 AND name = $2`,
      [id, name],
    );
    return rows[0];
  }

  /**
   * Waiting tasks whose wake-up is overdue by `lateSeconds`: past their wake time, or signalled that long ago (the
   * message was lost, or never sent).
   */
  async overdueWaiting(lateSeconds: number, limit: number): Promise<TaskRow[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks t
       WHERE status = 'waiting' AND (wake_at < now() - make_interval(secs => $1)
         OR EXISTS (SELECT 1 FROM task_signals s WHERE s.task_id = t.id AND s.name = t.waiting->>'name'
           AND t.waiting->>'kind' = 'signal' AND s.received_at < now() - make_interval(secs => $1)))
       ORDER BY wake_at NULLS LAST LIMIT $2`,
      [lateSeconds, limit],
    );
    return rows;
  }

  /** The sweeper re-drove the task: counted (MAX_TAKEOVERS caps it), and it counts as a sign of life. */
  async markRedriven(id: string): Promise<void> {
    await this.pool.query('UPDATE tasks SET redrives = redrives + 1, heartbeat_at = now() WHERE id = $1', [
      id,
    ]);
  }

  /** Records that a worker is alive on the task; returns whether cancellation was requested. */
  async heartbeat(id: string): Promise<{ cancelRequested: boolean }> {
    const { rows } = await this.pool.query<{ cancelRequested: boolean }>(
      `UPDATE tasks SET heartbeat_at = now() WHERE id = $1 RETURNING cancel_requested AS "cancelRequested"`,
      [id],
    );
    return { cancelRequested: rows[0]?.cancelRequested ?? false };
  }

  async isCancelRequested(id: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ c: boolean }>(
      'SELECT cancel_requested AS c FROM tasks WHERE id = $1',
      [id],
    );
    return rows[0]?.c ?? false;
  }

  /** The queued task submitted longest ago. */
  async oldestQueued(): Promise<{ id: string; createdAt: Date } | undefined> {
    const { rows } = await this.pool.query<{ id: string; createdAt: Date }>(
      `SELECT id, created_at AS "createdAt" FROM tasks WHERE status = 'queued' ORDER BY created_at, id LIMIT 1`,
    );
    return rows[0];
  }

  /** Running tasks whose worker has not been heard from for `silentSeconds`. */
  async staleRunning(silentSeconds: number, limit: number): Promise<TaskRow[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks
       WHERE status = 'running' AND COALESCE(heartbeat_at, updated_at) < now() - make_interval(secs => $1)
       ORDER BY updated_at LIMIT $2`,
      [silentSeconds, limit],
    );
    return rows;
  }

  /** A caller's queued and running tasks, newest first; every owner's when `owner` is undefined (admins). */
  async unfinished(owner: string | undefined, limit: number): Promise<TaskRow[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE ($1::text IS NULL OR owner = $1) AND status IN (${ACTIVE})
       ORDER BY created_at DESC, id DESC LIMIT $2`,
      [owner, limit],
    );
    return rows;
  }

  /** Records progress; returns whether cancellation was requested meanwhile. */
  async updateProgress(id: string, progress: Record<string, unknown>): Promise<{ cancelRequested: boolean }> {
    const { rows } = await this.pool.query<{ cancelRequested: boolean }>(
      `UPDATE tasks SET progress = $2, heartbeat_at = now(), updated_at = now() WHERE id = $1 AND status = 'running'
       RETURNING cancel_requested AS "cancelRequested"`,
      [id, progress],
    );
    return { cancelRequested: rows[0]?.cancelRequested ?? false };
  }

  /** Ends a task; a task that already ended keeps its first ending. */
  /**
   * Ends an active task and writes its terminal status event (seq `eventSeq`) in the same statement: a reader never
   * sees the row finished without its event (an event stream that replays a finished task ends after it), and the
   * two cost one round trip. Undefined, and no event, when the task was no longer active.
   */
  async finish(
    id: string,
    status: FinishedStatus,
    outcome: { resultRef?: string; error?: TaskError },
    eventSeq: number,
  ): Promise<{ task: TaskRow; event: TaskEventRow } | undefined> {
    const data = outcome.error ? { status, error: outcome.error } : { status };
    const { rows } = await this.pool.query<TaskRow & { eventAt: Date }>(
      `WITH u AS (
         UPDATE tasks SET status = $2, result_ref = $3, error = $4, finished_at = now(), updated_at = now(),
           ${NOT_WAITING}, ${CALLBACK_DUE}
         WHERE id = $1 AND status IN (${ACTIVE})
         RETURNING *),
       e AS (
         INSERT INTO task_events (task_id, seq, type, data) SELECT id, $5, 'status', $6 FROM u RETURNING at)
       SELECT ${COLUMNS}, e.at AS "eventAt" FROM u, e`,
      [id, status, outcome.resultRef ?? null, outcome.error ?? null, eventSeq, data],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { eventAt, ...task } = row;
    return {
      task,
      event: { taskId: id, seq: eventSeq, at: eventAt, type: 'status', level: null, message: null, data },
    };
  }

  /**
   * Queued tasks whose message may be missing: never sent (the send after the commit failed) for
   * `unsentSeconds`, or sent longer than `lostSeconds` ago and still not picked up (a broker lost it).
   */
  async staleQueued(unsentSeconds: number, lostSeconds: number, limit: number): Promise<TaskRow[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks
       WHERE status = 'queued'
         AND ((enqueued_at IS NULL AND created_at < now() - make_interval(secs => $1))
           OR enqueued_at < now() - make_interval(secs => $2))
       ORDER BY created_at LIMIT $3`,
      [unsentSeconds, lostSeconds, limit],
    );
    return rows;
  }
}
