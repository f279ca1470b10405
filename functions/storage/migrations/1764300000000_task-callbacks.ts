import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    -- Completion webhooks: the URL given at submit, and the delivery's state once the task has ended.
    ALTER TABLE tasks
      ADD COLUMN callback_url      text,
      ADD COLUMN callback_state    text CHECK (callback_state IN ('pending', 'delivered', 'failed')),
      ADD COLUMN callback_attempts integer NOT NULL DEFAULT 0,
      ADD COLUMN callback_due_at   timestamptz,
      ADD COLUMN callback_error    text;

    -- The sweeper: pending deliveries by when they are due.
    CREATE INDEX tasks_callback_due ON tasks (callback_due_at) WHERE callback_state = 'pending';
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql(`
    DROP INDEX tasks_callback_due;
    ALTER TABLE tasks DROP COLUMN callback_url, DROP COLUMN callback_state, DROP COLUMN callback_attempts,
      DROP COLUMN callback_due_at, DROP COLUMN callback_error;
  `);
}
