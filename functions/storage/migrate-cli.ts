import { describeError } from '../platform/describe-error';
import { loadSettings, SettingsError } from '../platform/settings';
import { runMigrations } from './migrate';

/** `npm run migrate`: applies pending migrations to the database the settings name. */
async function main(): Promise<void> {
  const { postgres } = loadSettings(process.env);
  if (postgres.kind !== 'url') {
    throw new SettingsError(
      'Setting DATABASE_URL: npm run migrate needs a connection URL (Entra tokens: run it from the app)',
    );
  }
  const applied = await runMigrations(postgres.url, (line) => console.log(line));
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
