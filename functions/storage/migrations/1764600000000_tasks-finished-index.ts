import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    -- Retention: finished tasks, oldest ending first.
    CREATE INDEX tasks_finished ON tasks (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql('DROP INDEX tasks_finished;');
}
