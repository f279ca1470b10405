#!/usr/bin/env node
import { exitCode, formatProgress, formatReport } from './report';
import { parseSmokeArgs, UsageError, USAGE } from './options';
import { runSmoke } from './smoke';

/** `npm run smoke -- --url https://<app> [--key <key>] …`: see docs/smoke-test.md. */
async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseSmokeArgs(argv, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`smoke: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  const started = performance.now();
  // Progress to stderr, the table to stdout: `npm run smoke > report.txt` keeps only the table.
  console.error(`smoke test of ${options.url}${options.key ? ' (with a key)' : ''}`);
  const results = await runSmoke(options, (result) => console.error(formatProgress(result)));
  console.log(formatReport(results, performance.now() - started));
  return exitCode(results);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`smoke: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
