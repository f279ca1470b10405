import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type {
  HttpTrigger,
  ServiceBusTrigger,
  TimerTrigger,
  TriggerDefinition,
} from '../../functions/app/trigger-types';
import { redactSecrets } from '../../functions/platform/redact';
import { readHostConfig } from './host-config';
import { startHttpServer, type RunningHttpServer } from './http-server';
import type { LogSink } from './invocation';
import { startServiceBusTriggers, type RunningServiceBusTriggers } from './servicebus-triggers';
import type { AppSettings } from './settings';
import { startTimerTriggers } from './timer-triggers';

export interface LocalHostOptions {
  triggers: readonly TriggerDefinition[];
  /** 0 picks a free port. Default 7071, as `func start`. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** App settings: `%NAME%` expressions and connection names are looked up here, not in process.env. */
  settings: AppSettings;
  /** Parsed host.json; default: `host.json` in the current directory (the app root, as for `func start`). */
  hostJson?: object;
  /** Default: stdout. */
  log?: LogSink;
  /** Runs when the host closes, alongside the draining of invocations, as `app.hook.appTerminate` does on Azure. */
  onTerminate?: () => Promise<void>;
}

export interface LocalHost {
  /** e.g. `http://127.0.0.1:7071` (without the route prefix). */
  readonly url: string;
  readonly port: number;
  /** Stops HTTP, Service Bus receivers and timers, waiting up to 10 s for running invocations. */
  close(): Promise<void>;
}

/**
 * Runs a trigger table the way the Azure Functions host would, for machines without Core Tools: HTTP triggers on a
 * local server, Service Bus queue triggers through the SDK, timer triggers on their NCRONTAB schedules. Fails with
 * one clear error (and nothing left running) when the table, host.json or a setting is wrong.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  // Every line the host writes (request log, context.log of every invocation, errors) passes here, so none leaks a secret.
  const sink = options.log ?? ((line: string) => console.log(line));
  const log: LogSink = (line) => sink(redactSecrets(line));
  const host = options.host ?? '127.0.0.1';
  const config = readHostConfig(options.hostJson ?? readHostJson(resolve(process.cwd(), 'host.json')));
  const seen = new Set<string>();
  for (const trigger of options.triggers) {
    if (seen.has(trigger.name)) throw new Error(`Two triggers are named '${trigger.name}'`);
    seen.add(trigger.name);
  }
  const http = options.triggers.filter((t): t is HttpTrigger => t.kind === 'http');
  const serviceBus = options.triggers.filter((t): t is ServiceBusTrigger => t.kind === 'serviceBus');
  const timers = options.triggers.filter((t): t is TimerTrigger => t.kind === 'timer');

  const httpServer: RunningHttpServer = await startHttpServer({
    triggers: http,
    port: options.port ?? 7071,
    host,
    routePrefix: config.routePrefix,
    log,
  });
  let serviceBusTriggers: RunningServiceBusTriggers | undefined;
  try {
    serviceBusTriggers = await startServiceBusTriggers(serviceBus, options.settings, config.serviceBus, log);
    // Last, because runOnStartup timers run at once and may use the rest.
    const timerTriggers = startTimerTriggers(timers, options.settings, log, config.functionTimeoutMs);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${httpServer.port}`;
    logFunctions(log, options.triggers, `${url}${config.routePrefix ? `/${config.routePrefix}` : ''}`);
    return {
      url,
      port: httpServer.port,
      close: async () => {
        await Promise.all([
          httpServer.close(),
          serviceBusTriggers?.close(),
          timerTriggers.close(),
          options.onTerminate?.(),
        ]);
      },
    };
  } catch (error) {
    await Promise.all([httpServer.close(), serviceBusTriggers?.close()]);
    throw error;
  }
}

function readHostJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The function list `func start` prints. */
function logFunctions(log: LogSink, triggers: readonly TriggerDefinition[], base: string): void {
  log('Functions:');
  for (const t of triggers) {
    if (t.kind === 'http') {
      const route = t.route.replace(/^\/+/, '');
      log(`  ${t.name}: [${t.methods.join(',')}] ${base}${route ? `/${route}` : ''}`);
    }
    if (t.kind === 'serviceBus') log(`  ${t.name}: serviceBusTrigger (queue ${t.queueName})`);
    if (t.kind === 'timer')
      log(`  ${t.name}: timerTrigger (${t.schedule}${t.runOnStartup ? ', runOnStartup' : ''})`);
  }
}
