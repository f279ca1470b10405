import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    -- The W3C traceparent of the task's submit span: every message of the task carries it, so the task is one trace.
    ALTER TABLE tasks ADD COLUMN trace_context text;
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql(`ALTER TABLE tasks DROP COLUMN trace_context;`);
}
