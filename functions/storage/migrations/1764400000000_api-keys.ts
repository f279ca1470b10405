import type { MigrationBuilder } from 'node-pg-migrate' with { 'resolution-mode': 'import' };

export function up(pgm: MigrationBuilder): void {
  pgm.sql(`
    -- API keys (AUTH_MODE=apikey): only an HMAC of the key is kept; the prefix finds the row without it.
    CREATE TABLE api_keys (
      id           uuid PRIMARY KEY,
      prefix       text NOT NULL,
      hash         text NOT NULL,
      owner        text NOT NULL,
      role         text NOT NULL CHECK (role IN ('user', 'admin')),
      name         text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at   timestamptz
    );
    CREATE INDEX api_keys_prefix ON api_keys (prefix);
  `);
}

export function down(pgm: MigrationBuilder): void {
  pgm.sql(`DROP TABLE api_keys;`);
}
