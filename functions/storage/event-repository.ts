import type { Pool } from 'pg';
import type { TaskEventRow } from '../model/events';

/** How often a step failed, from the task's history. */
export interface StepFailures {
  name: string;
  failures: number;
  lastStartedAt: Date | null;
  lastFailedAt: Date;
}

/** The `task_events` table: each task's history, numbered by `seq`. */
export class EventRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Appends an event. The worker holding the task's lease passes its own `seq`; without one (no worker can be
   * writing, e.g. a queued task cancelled by the API) the next number is taken.
   */
  async append(
    taskId: string,
    event: { type: TaskEventRow['type']; seq?: number; level?: string; message?: string; data?: unknown },
  ): Promise<TaskEventRow> {
    const { rows } = await this.pool.query<TaskEventRow>(
      `INSERT INTO task_events (task_id, seq, type, level, message, data)
       VALUES ($1, COALESCE($6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_events WHERE task_id = $1)), $2, $3, $4, $5)
       RETURNING task_id AS "taskId", seq, at, type, level, message, data`,
      [taskId, event.type, event.level ?? null, event.message ?? null, event.data ?? null, event.seq ?? null],
    );
    return rows[0];
  }

  async page(taskId: string, afterSeq: number, limit: number): Promise<TaskEventRow[]> {
    const { rows } = await this.pool.query<TaskEventRow>(
      `SELECT task_id AS "taskId", seq, at, type, level, message, data FROM task_events
       WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [taskId, afterSeq, limit],
    );
    return rows;
  }

  /**
   * The failed attempts of each step: the engine writes one `warn` log event per attempt that failed in a step, with
   * `failedStep` and `stepStartedAt` in its data (run-slice.ts). With the last one's start and end.
   */
  async stepFailures(taskId: string): Promise<StepFailures[]> {
    const { rows } = await this.pool.query<StepFailures>(
      `SELECT data->>'failedStep' AS name, count(*)::int AS failures, max(at) AS "lastFailedAt",
         (array_agg(data->>'stepStartedAt' ORDER BY seq DESC))[1]::timestamptz AS "lastStartedAt"
       FROM task_events
       WHERE task_id = $1 AND type = 'log' AND level = 'warn' AND data ? 'failedStep'
       GROUP BY 1`,
      [taskId],
    );
    return rows;
  }

  /** The highest event sequence number of a task (0 when it has none). */
  async lastSeq(taskId: string): Promise<number> {
    const { rows } = await this.pool.query<{ seq: number }>(
      'SELECT COALESCE(MAX(seq), 0) AS seq FROM task_events WHERE task_id = $1',
      [taskId],
    );
    return rows[0].seq;
  }

  /**
   * Events of a caller's tasks (every owner's when `owner` is undefined) persisted after `since`: the multiplexed
   * stream's fallback while Redis is down.
   */
  async ofOwnerSince(owner: string | undefined, since: Date, limit: number): Promise<TaskEventRow[]> {
    const { rows } = await this.pool.query<TaskEventRow>(
      `SELECT e.task_id AS "taskId", e.seq, e.at, e.type, e.level, e.message, e.data
       FROM task_events e JOIN tasks t ON t.id = e.task_id
       WHERE ($1::text IS NULL OR t.owner = $1) AND e.at > $2 ORDER BY e.at, e.task_id, e.seq LIMIT $3`,
      [owner, since, limit],
    );
    return rows;
  }
}
