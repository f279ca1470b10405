import type { Pool } from 'pg';
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

/** What operators need from Postgres beyond the API's own queries: counts and retention. */
export class AdminRepository {
  constructor(private readonly pool: Pool) {}

  /** How many tasks each (type, status) pair has. */
  async countByTypeAndStatus(): Promise<StatusCount[]> {
    const { rows } = await this.pool.query<StatusCount>(
      `SELECT type, status, count(*)::int AS count FROM tasks GROUP BY type, status ORDER BY type, status`,
    );
    return rows;
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
