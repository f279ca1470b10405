import { describeError } from '../platform/describe-error';
import { SettingsError } from '../platform/settings';
import { runMigrations } from './migrate';

/** `npm run migrate`: applies pending migrations to the database DATABASE_URL names (the one setting it reads). */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL?.trim();
  if (!url) {
    throw new SettingsError(
      'Setting DATABASE_URL: npm run migrate needs a connection URL (Entra tokens: run it from the app)',
    );
  }
  const applied = await runMigrations(url, (line) => console.log(line));
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
