// First: the telemetry set-up must run before the modules it instruments (http, pg, the Azure SDKs) are loaded.
import { startTelemetry } from '../functions/platform/telemetry';
import { localWebhookSecret, readLocalSettings } from './local-settings';
import { findRepoRoot } from './services/repo-root';
startTelemetry(withLocalTelemetrySettings());
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../functions/platform/settings';
import { runMigrations } from '../functions/storage/migrate';
import { onAppTerminate } from '../functions/app/app-terminate';
import { triggers } from '../functions/app/triggers';
import { startLocalHost, type LocalHost } from './host';
import { acquireInstanceLock } from './instance-lock';
import { freePort } from './services/ports';
import { startLocalStack, type LocalStack } from './stack';

/**
 * `npm start`: the whole stack on this machine — Azurite, the Service Bus emulator, Postgres, Redis, migrations —
 * then the local Functions host on http://localhost:7071. State lives under `.local/` (LONGHAUL_LOCAL_DIR), so a
 * restart resumes; the services run detached and a start after a crash reattaches to them (docs/local-development.md).
 * LONGHAUL_FREE_PORTS=1 takes free ports instead of the fixed ones, for tests that run this script.
 */
async function main(): Promise<void> {
  const root = findRepoRoot();
  const log = (line: string) => console.log(`[start] ${line}`);
  const stateDir = process.env.LONGHAUL_LOCAL_DIR ?? join(root, '.local');
  const freePorts = process.env.LONGHAUL_FREE_PORTS === '1';
  const port = process.env.PORT ? Number(process.env.PORT) : freePorts ? await freePort() : 7071;
  const lock = acquireInstanceLock(stateDir, `http://localhost:${port}`);
  let stack: LocalStack | undefined;
  let host: LocalHost | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    // The host first: its onAppTerminate hands running slices on through the emulator, which must still run.
    await host?.close().catch((err: unknown) => console.error(`[start] closing the host: ${String(err)}`));
    await stack?.stop().catch((err: unknown) => console.error(`[start] stopping: ${String(err)}`));
    lock.release();
  };
  try {
    stack = await startLocalStack({
      stateDir,
      databaseUrl: process.env.DATABASE_URL,
      redisUrl: process.env.REDIS_URL,
      freePorts,
      servicebusConfig: process.env.LONGHAUL_SERVICEBUS_CONFIG,
      log,
    });
    // What the stack provides wins: it is what is actually running.
    const settings = { ...readLocalSettings(root), ...definedEnv(), ...stack.settings };
    if (!settings.WEBHOOK_SIGNING_SECRET) {
      settings.WEBHOOK_SIGNING_SECRET = localWebhookSecret(stateDir);
      log(`webhooks are signed with the key in ${join(stateDir, 'webhook-signing-secret')}`);
    }
    Object.assign(process.env, settings);
    loadSettings(process.env);
    log('migrating the database');
    await runMigrations(stack.settings.DATABASE_URL);
    const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as object;
    host = await startLocalHost({
      triggers,
      port,
      settings,
      hostJson,
      log: (line) => console.log(line),
      onTerminate: () => onAppTerminate(),
    });
  } catch (err) {
    await stop('start-up failed');
    throw err;
  }
  const url = host.url.replace('127.0.0.1', 'localhost');
  console.log(`
Longhaul is running.
  Web UI      ${url}/
  API docs    ${url}/api/docs
  OpenAPI     ${url}/api/openapi.json
  Health      ${url}/api/health/ready
  Submit      curl -X POST ${url}/api/tasks -H 'content-type: application/json' -d '{"type":"simulate","input":{"steps":5,"stepMs":500}}'
Stop with Ctrl+C.`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => void stop(signal).then(() => process.exit(0)));
}

/**
 * process.env with the telemetry settings of local.settings.json it lacks, copied into it: the OpenTelemetry SDK reads
 * its exporter settings (OTEL_EXPORTER_OTLP_*) from the environment itself. Only those: other local settings must not
 * change which services the stack starts.
 */
function withLocalTelemetrySettings(): NodeJS.ProcessEnv {
  const local = readLocalSettings(findRepoRoot());
  for (const [name, value] of Object.entries(local)) {
    const telemetry = name === 'APPLICATIONINSIGHTS_CONNECTION_STRING' || name.startsWith('OTEL_');
    if (telemetry && value && process.env[name] === undefined) process.env[name] = value;
  }
  return process.env;
}

function definedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
