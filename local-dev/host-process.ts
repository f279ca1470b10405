// First: the telemetry set-up must run before the modules it instruments (http, pg, the Azure SDKs) are loaded.
import { startTelemetry } from '../functions/platform/telemetry';
startTelemetry(process.env);
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { onAppTerminate } from '../functions/app/app-terminate';
import { triggers } from '../functions/app/triggers';
import { startLocalHost } from './host';
import { findRepoRoot } from './services/repo-root';

/**
 * One local host process with its settings from the environment: `--role worker` runs the Service Bus and timer
 * triggers, `--role http` the HTTP triggers, `--role all` both. Prints its URL once ready. Tests and benchmarks use it
 * to run (and kill) several workers and API instances.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    // Not `--port`: the worker's own arguments carry the host's gRPC port under that name, as on Azure.
    options: { role: { type: 'string', default: 'worker' }, 'http-port': { type: 'string', default: '0' } },
  });
  const role = values.role;
  if (role !== 'worker' && role !== 'http' && role !== 'all') throw new Error(`--role: worker, http or all`);
  const settings = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const hostJson = JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object;
  const host = await startLocalHost({
    triggers: triggers.filter((t) => role === 'all' || (role === 'http') === (t.kind === 'http')),
    port: Number(values['http-port']),
    settings,
    hostJson,
    log: () => undefined,
    onTerminate: () => onAppTerminate(),
  });
  console.log(host.url);
  const stop = () => void host.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
