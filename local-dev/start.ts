// First: the telemetry set-up must run before the modules it instruments (http, pg, the Azure SDKs) are loaded.
import { startTelemetry } from '../functions/platform/telemetry';
import { localWebhookSecret, readLocalSettings } from './local-settings';
import { findRepoRoot } from './services/repo-root';
startTelemetry(withLocalTelemetrySettings());
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, SettingsError } from '../functions/platform/settings';
import { runMigrations } from '../functions/storage/migrate';
import { onAppTerminate } from '../functions/app-terminate';
import { triggers } from '../functions/triggers';
import { startLocalHost } from './host';
import { startLocalStack } from './stack';

const PORT = Number(process.env.PORT ?? 7071);

/**
 * `npm start`: the whole stack on this machine — Azurite, the Service Bus emulator, Postgres, Redis, migrations —
 * then the local Functions host on http://localhost:7071. State lives under `.local/`, so a restart resumes.
 */
async function main(): Promise<void> {
  const root = findRepoRoot();
  const log = (line: string) => console.log(`[start] ${line}`);
  const stateDir = join(root, '.local');
  const stack = await startLocalStack({
    stateDir,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    log,
  });
  let stopping = false;
  const stopStack = async () => {
    await stack.stop().catch((err: unknown) => console.error(`[start] stopping: ${String(err)}`));
  };
  try {
    // What the stack provides wins: it is what is actually running.
    const settings = { ...readLocalSettings(root), ...definedEnv(), ...stack.settings };
    if (!settings.WEBHOOK_SIGNING_SECRET) {
      settings.WEBHOOK_SIGNING_SECRET = localWebhookSecret(stateDir);
      log('webhooks are signed with the key in .local/webhook-signing-secret');
    }
    Object.assign(process.env, settings);
    loadSettings(process.env);
    log('migrating the database');
    await runMigrations(stack.settings.DATABASE_URL);
    const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as object;
    const host = await startLocalHost({
      triggers,
      port: PORT,
      settings,
      hostJson,
      log: (line) => console.log(line),
      onTerminate: () => onAppTerminate(),
    });
    const url = host.url.replace('127.0.0.1', 'localhost');
    console.log(`
Longhaul is running.
  Web UI      ${url}/
  API docs    ${url}/api/docs
  OpenAPI     ${url}/api/openapi.json
  Health      ${url}/api/health/ready
  Submit      curl -X POST ${url}/api/tasks -H 'content-type: application/json' -d '{"type":"simulate","input":{"steps":5,"stepMs":500}}'
Stop with Ctrl+C.`);
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping`);
      void host
        .close()
        .catch((err: unknown) => console.error(`[start] closing the host: ${String(err)}`))
        .then(stopStack)
        .then(() => process.exit(0));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  } catch (err) {
    await stopStack();
    throw err;
  }
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
  console.error(err instanceof SettingsError || err instanceof Error ? err.message : String(err));
  process.exit(1);
});
