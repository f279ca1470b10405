import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggers } from '../functions/triggers';
import { startLocalHost } from './host';
import { findRepoRoot } from './services/repo-root';

/**
 * A worker process: the app's Service Bus and timer triggers (no HTTP) on the local host, with its settings from the
 * environment. Prints `ready` once it consumes. Used to run several workers, and to kill them, in tests and benchmarks.
 */
async function main(): Promise<void> {
  const settings = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
  const host = await startLocalHost({
    triggers: triggers.filter((t) => t.kind !== 'http'),
    port: 0,
    settings,
    hostJson,
    log: () => undefined,
  });
  console.log('ready');
  const stop = () => void host.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
