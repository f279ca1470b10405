import type { Pool } from 'pg';
import type { CallbackOutcome, TaskRow } from '../model/task';
import { COLUMNS } from './task-columns';

/** The completion webhook's delivery state, kept on the task's row. */
export class CallbackRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Takes webhook delivery `attempt` of an ended task: only when it is pending and this is the next attempt, so a
   * duplicate message never delivers twice. The claim holds the row for `claimSeconds`: if this worker dies, the
   * sweeper finds the delivery overdue.
   */
  async claim(id: string, attempt: number, claimSeconds: number): Promise<TaskRow | undefined> {
    const { rows } = await this.pool.query<TaskRow>(
      `UPDATE tasks SET callback_attempts = $2, callback_due_at = now() + make_interval(secs => $3)
       WHERE id = $1 AND callback_state = 'pending' AND callback_attempts = $2 - 1
       RETURNING ${COLUMNS}`,
      [id, attempt, claimSeconds],
    );
    return rows[0];
  }

  async record(id: string, outcome: CallbackOutcome): Promise<void> {
    await this.pool.query(
      `UPDATE tasks SET callback_state = $2, callback_due_at = $3, callback_error = $4 WHERE id = $1`,
      [
        id,
        outcome.state,
        outcome.state === 'pending' ? outcome.dueAt : null,
        outcome.state === 'delivered' ? null : outcome.error,
      ],
    );
  }

  /**
   * Pending deliveries overdue by `overdueSeconds` (their message was lost, or the worker died mid-delivery); each
   * is postponed by `postponeSeconds` so the next sweep does not send it again while the re-sent message is on its way.
   */
  async takeOverdue(overdueSeconds: number, postponeSeconds: number, limit: number): Promise<TaskRow[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `UPDATE tasks SET callback_due_at = now() + make_interval(secs => $2)
       WHERE id IN (
         SELECT id FROM tasks
         WHERE callback_state = 'pending' AND callback_due_at < now() - make_interval(secs => $1)
         ORDER BY callback_due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [overdueSeconds, postponeSeconds, limit],
    );
    return rows;
  }
}
