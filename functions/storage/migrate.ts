import { join } from 'node:path';
import type { ClientConfig } from 'pg';

/** Applies pending migrations; concurrent callers wait for each other on node-pg-migrate's advisory lock. */
export async function runMigrations(
  database: string | ClientConfig,
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  // node-pg-migrate is an ES module; a dynamic import keeps this file CommonJS.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: database,
    dir: join(__dirname, 'migrations'),
    // The compiled folder also holds source maps and declarations.
    ignorePattern: '(\\..*)|(.*\\.(map|ts))',
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: Infinity,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
  return applied.map((m) => m.name);
}
