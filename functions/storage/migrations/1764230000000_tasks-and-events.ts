import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    CREATE TABLE tasks (
      id               uuid PRIMARY KEY,
      type             text NOT NULL,
      status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      owner            text NOT NULL,
      idempotency_key  text,
      request_hash     text,
      input_ref        text NOT NULL,
      input_bytes      integer NOT NULL CHECK (input_bytes >= 0),
      result_ref       text,
      progress         jsonb,
      error            jsonb,
      attempts         integer NOT NULL DEFAULT 0,
      cancel_requested boolean NOT NULL DEFAULT false,
      trace_id         text,
      -- Millisecond precision, so a JavaScript Date in a list cursor compares exactly.
      created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
      started_at       timestamptz,
      updated_at       timestamptz NOT NULL DEFAULT now(),
      finished_at      timestamptz,
      heartbeat_at     timestamptz,
      enqueued_at      timestamptz
    );

    -- Idempotency-Key is unique per caller.
    CREATE UNIQUE INDEX tasks_owner_idempotency_key ON tasks (owner, idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    -- The list query: a caller's tasks newest first, optionally by status or type, keyset-paged.
    CREATE INDEX tasks_owner_created ON tasks (owner, created_at DESC, id DESC);
    CREATE INDEX tasks_owner_status_created ON tasks (owner, status, created_at DESC, id DESC);
    CREATE INDEX tasks_owner_type_created ON tasks (owner, type, created_at DESC, id DESC);
    -- The sweeper: unfinished tasks by when they last moved.
    CREATE INDEX tasks_unfinished ON tasks (status, updated_at) WHERE status IN ('queued', 'running');

    CREATE TABLE task_events (
      task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      seq      bigint NOT NULL CHECK (seq > 0),
      at       timestamptz NOT NULL DEFAULT now(),
      type     text NOT NULL CHECK (type IN ('status', 'progress', 'log')),
      level    text CHECK (level IN ('debug', 'info', 'warn', 'error')),
      message  text,
      data     jsonb,
      PRIMARY KEY (task_id, seq)
    );

    -- How often each step body really ran, kept apart from the checkpoints (proof that none ran twice).
    CREATE TABLE step_runs (
      task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
      step     text NOT NULL,
      runs     integer NOT NULL,
      PRIMARY KEY (task_id, step)
    );
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql('DROP TABLE step_runs; DROP TABLE task_events; DROP TABLE tasks;');
}
