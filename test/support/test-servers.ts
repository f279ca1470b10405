/**
 * The Postgres server and Redis the tests use: the machine's (CI starts them on their default ports), or what
 * `npm test` started for this run when those do not answer (test/run-tests.ts sets the variables).
 */
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
