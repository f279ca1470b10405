import type { Pool } from 'pg';
import type { StepLedger } from '../tasks/step-ledger';

export class PostgresStepLedger implements StepLedger {
  constructor(private readonly pool: Pool) {}

  async recordRun(taskId: string, step: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO step_runs (task_id, step, runs) VALUES ($1, $2, 1)
       ON CONFLICT (task_id, step) DO UPDATE SET runs = step_runs.runs + 1`,
      [taskId, step],
    );
  }

  async runs(taskId: string): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ step: string; runs: number }>(
      'SELECT step, runs FROM step_runs WHERE task_id = $1 ORDER BY step',
      [taskId],
    );
    return Object.fromEntries(rows.map((r) => [r.step, r.runs]));
  }
}
