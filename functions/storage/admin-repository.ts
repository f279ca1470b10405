import type { Pool } from 'pg';
import type { TaskEventRow } from '../model/events';
import { FINISHED_STATUSES, type TaskStatus } from '../model/task';
import { sqlList } from './sql-list';

const FINISHED = sqlList(FINISHED_STATUSES);

export interface StatusCount {
  type: string;
  status: TaskStatus;
  count: number;
}

/** A finished task that retention deletes, with what it keeps outside Postgres. */
export interface ExpiredTask {
  id: string;
  inputRef: string;
  resultRef: string | null;
}

type EventJsonRow = Omit<TaskEventRow, 'at'> & { at: string };

/** What operators need from Postgres beyond the API's own queries: counts, re-driving failed tasks, retention. */
export class AdminRepository {
  constructor(private readonly pool: Pool) {}

  /** How many tasks each (type, status) pair has. */
  async countByTypeAndStatus(): Promise<StatusCount[]> {
    const { rows } = await this.pool.query<StatusCount>(
      `SELECT type, status, count(*)::int AS count FROM tasks GROUP BY type, status ORDER BY type, status`,
    );
    return rows;
  }

  async oldestQueued(): Promise<{ id: string; createdAt: Date } | undefined> {
    const { rows } = await this.pool.query<{ id: string; createdAt: Date }>(
      `SELECT id, created_at AS "createdAt" FROM tasks WHERE status = 'queued' ORDER BY created_at, id LIMIT 1`,
    );
    return rows[0];
  }

  /**
   * Puts a failed task back to `queued` for a fresh round of attempts (attempts start again at 1), keeping its
   * progress; its completion webhook is owed again, and keeps counting deliveries so message ids stay unique. Records
   * a `log` event saying why and then the `status: queued` event, in the same statement. Undefined unless it was
   * failed (a concurrent retry, or retention, got there first).
   */
  async requeueFailed(
    id: string,
    note: { message: string; data: Record<string, unknown> },
  ): Promise<TaskEventRow[] | undefined> {
    const { rows } = await this.pool.query<{ events: EventJsonRow[] }>(
      `WITH u AS (
         UPDATE tasks SET status = 'queued', error = NULL, finished_at = NULL, attempts = 0, cancel_requested = false,
           heartbeat_at = NULL, enqueued_at = NULL, updated_at = now(), callback_state = NULL, callback_due_at = NULL,
           callback_error = NULL
         WHERE id = $1 AND status = 'failed'
         RETURNING id, (SELECT COALESCE(MAX(seq), 0) FROM task_events WHERE task_id = $1) AS last_seq),
       e AS (
         INSERT INTO task_events (task_id, seq, type, level, message, data)
         SELECT id, last_seq + 1, 'log', 'info', $2, $3::jsonb FROM u
         UNION ALL
         SELECT id, last_seq + 2, 'status', NULL, NULL, '{"status": "queued"}'::jsonb FROM u
         RETURNING task_id AS "taskId", seq::int AS seq, at, type, level, message, data)
       SELECT COALESCE((SELECT json_agg(e ORDER BY e.seq) FROM e), '[]'::json) AS events FROM u`,
      [id, note.message, JSON.stringify(note.data)],
    );
    const row = rows[0];
    return row && row.events.map((e) => ({ ...e, at: new Date(e.at) }));
  }

  /** The statuses of the given tasks (absent ids are missing from the map). */
  async statuses(ids: string[]): Promise<Map<string, TaskStatus>> {
    const { rows } = await this.pool.query<{ id: string; status: TaskStatus }>(
      'SELECT id, status FROM tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /**
   * Deletes up to `limit` tasks that finished before `cutoff`, after `cleanUp` has removed what they keep elsewhere
   * (blobs, checkpoints). The rows stay locked (FOR UPDATE SKIP LOCKED) meanwhile, so a concurrent run takes other
   * tasks and an admin retry of one of them waits and then finds it gone; events and step runs go with their task
   * (ON DELETE CASCADE). If `cleanUp` throws, nothing is deleted and the next run tries again. Returns how many went.
   */
  async deleteExpired(
    cutoff: Date,
    limit: number,
    cleanUp: (tasks: ExpiredTask[]) => Promise<void>,
  ): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<ExpiredTask>(
        `SELECT id, input_ref AS "inputRef", result_ref AS "resultRef" FROM tasks
         WHERE status IN (${FINISHED}) AND finished_at < $1
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoff, limit],
      );
      if (rows.length > 0) {
        await cleanUp(rows);
        await client.query('DELETE FROM tasks WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
