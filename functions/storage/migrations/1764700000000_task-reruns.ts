import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    -- The task this one reruns (POST /api/tasks/{id}/rerun). No foreign key: retention may delete the original first,
    -- and the link then names a task that is gone (GET answers 404), which is what a reader should see.
    ALTER TABLE tasks ADD COLUMN rerun_of uuid;
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql(`ALTER TABLE tasks DROP COLUMN rerun_of;`);
}
