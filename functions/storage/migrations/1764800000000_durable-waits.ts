import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
    ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
      CHECK (status IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'));
    -- What a waiting task waits for ({kind, name?, until?}, as the API shows it), when the message that wakes it is
    -- due, and the slice it runs (the sweeper re-sends a wake-up that is overdue).
    ALTER TABLE tasks ADD COLUMN waiting jsonb;
    ALTER TABLE tasks ADD COLUMN wake_at timestamptz;
    ALTER TABLE tasks ADD COLUMN wake_slice integer;
    -- The task fails with max_duration_exceeded this long after it started (null: no limit).
    ALTER TABLE tasks ADD COLUMN max_duration_seconds integer CHECK (max_duration_seconds > 0);
    -- Times the sweeper re-drove the task after its worker went silent (capped by MAX_TAKEOVERS).
    ALTER TABLE tasks ADD COLUMN redrives integer NOT NULL DEFAULT 0;
    CREATE INDEX tasks_waiting_wake ON tasks (wake_at) WHERE status = 'waiting';

    -- Signals (POST /api/tasks/{id}/signals/{name}): the first one of each name is kept, before or during the wait.
    CREATE TABLE task_signals (
      task_id         uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      name            text NOT NULL,
      payload         jsonb NOT NULL,
      sender          text NOT NULL,
      idempotency_key text,
      received_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (task_id, name)
    );
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql(`
    DROP TABLE task_signals;
    DROP INDEX tasks_waiting_wake;
    ALTER TABLE tasks DROP COLUMN waiting, DROP COLUMN wake_at, DROP COLUMN wake_slice,
      DROP COLUMN max_duration_seconds, DROP COLUMN redrives;
    ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
    ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
  `);
}
