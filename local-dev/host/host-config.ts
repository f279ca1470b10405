import { availableParallelism } from 'node:os';
import { RetryMode, type RetryOptions } from '@azure/service-bus';

/** The parts of host.json the local host honours, with the Functions host's defaults filled in. */
export interface HostConfig {
  /** Without slashes; '' puts routes at the root. */
  routePrefix: string;
  serviceBus: ServiceBusHostConfig;
  /** host.json `functionTimeout`; Infinity when unbounded (-1). */
  functionTimeoutMs: number;
}

export interface ServiceBusHostConfig {
  functionTimeoutMs: number;
  maxConcurrentCalls: number;
  autoCompleteMessages: boolean;
  maxAutoLockRenewalDurationInMs: number;
  retryOptions: RetryOptions;
}

type Json = Record<string, unknown>;

function section(parent: Json | undefined, key: string): Json | undefined {
  const value = parent?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function field<T>(
  parent: Json | undefined,
  key: string,
  type: 'string' | 'number' | 'boolean',
  path: string,
): T | undefined {
  const value = parent?.[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw new Error(`host.json ${path}.${key} must be a ${type}`);
  return value as T;
}

/** The host.json settings the local host honours, each as the Functions host does (docs/local-development.md). */
export const HONOURED_HOST_JSON: readonly string[] = [
  'version',
  'functionTimeout',
  'extensions.http.routePrefix',
  'extensions.serviceBus.prefetchCount',
  'extensions.serviceBus.maxConcurrentCalls',
  'extensions.serviceBus.autoCompleteMessages',
  'extensions.serviceBus.maxAutoLockRenewalDuration',
  'extensions.serviceBus.clientRetryOptions.mode',
  'extensions.serviceBus.clientRetryOptions.maxRetries',
  'extensions.serviceBus.clientRetryOptions.delay',
  'extensions.serviceBus.clientRetryOptions.maxDelay',
  'extensions.serviceBus.clientRetryOptions.tryTimeout',
];

/** host.json sections that change no behaviour the app can observe locally, and why. */
export const INERT_HOST_JSON: Readonly<Record<string, string>> = {
  logging: 'Application Insights log levels and sampling; locally the app exports its own telemetry (OTLP)',
  extensionBundle: "the bindings' .NET extensions: the local host implements the triggers itself",
};

/** Every leaf of host.json as a dotted path (objects are walked, arrays and values are leaves). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

/**
 * A setting the Functions host would honour and the local host would not is refused, so that a local run never
 * silently differs from Azure configured by the same file.
 */
function refuseUnknownSettings(hostJson: unknown): void {
  for (const path of leafPaths(hostJson)) {
    if (HONOURED_HOST_JSON.includes(path) || path.split('.')[0] in INERT_HOST_JSON) continue;
    throw new Error(
      `host.json ${path} is not supported by the local host (Azure would honour it; this host cannot)`,
    );
  }
}

/**
 * Reads the settings of `HONOURED_HOST_JSON`, with the Functions host's defaults (Service Bus extension 5.x, Flex
 * Consumption), and refuses any other that Azure would act on.
 */
export function readHostConfig(hostJson: unknown): HostConfig {
  refuseUnknownSettings(hostJson);
  const root = typeof hostJson === 'object' && hostJson !== null ? (hostJson as Json) : undefined;
  const extensions = section(root, 'extensions');
  const http = section(extensions, 'http');
  const sb = section(extensions, 'serviceBus');
  const retry = section(sb, 'clientRetryOptions');
  const sbPath = 'extensions.serviceBus';
  const retryPath = `${sbPath}.clientRetryOptions`;
  const span = (parent: Json | undefined, key: string, path: string, fallback: string): number =>
    parseTimeSpan(field<string>(parent, key, 'string', path) ?? fallback, `host.json ${path}.${key}`);

  const maxConcurrentCalls =
    field<number>(sb, 'maxConcurrentCalls', 'number', sbPath) ?? 16 * availableParallelism();
  if (!Number.isInteger(maxConcurrentCalls) || maxConcurrentCalls < 1) {
    throw new Error(`host.json ${sbPath}.maxConcurrentCalls must be a positive integer`);
  }
  // The local receiver never prefetches: a prefetch count would hold messages (and their locks) it cannot model.
  const prefetchCount = field<number>(sb, 'prefetchCount', 'number', sbPath) ?? 0;
  if (prefetchCount !== 0) throw new Error(`host.json ${sbPath}.prefetchCount must be 0 for the local host`);
  const version = field<string>(root, 'version', 'string', 'host.json') ?? '2.0';
  if (version !== '2.0') throw new Error('host.json version must be "2.0"');
  const mode = (field<string>(retry, 'mode', 'string', retryPath) ?? 'exponential').toLowerCase();
  if (mode !== 'exponential' && mode !== 'fixed') {
    throw new Error(`host.json ${retryPath}.mode must be "exponential" or "fixed"`);
  }
  const functionTimeoutMs = readFunctionTimeout(root);
  return {
    functionTimeoutMs,
    routePrefix: (field<string>(http, 'routePrefix', 'string', 'extensions.http') ?? 'api').replace(
      /^\/+|\/+$/g,
      '',
    ),
    serviceBus: {
      functionTimeoutMs,
      maxConcurrentCalls,
      autoCompleteMessages: field<boolean>(sb, 'autoCompleteMessages', 'boolean', sbPath) ?? true,
      maxAutoLockRenewalDurationInMs: span(sb, 'maxAutoLockRenewalDuration', sbPath, '00:05:00'),
      // The .NET client's defaults, which the Functions host uses; the JS SDK's own (30 s fixed) would make a
      // restarted emulator take half a minute to be noticed.
      retryOptions: {
        mode: mode === 'fixed' ? RetryMode.Fixed : RetryMode.Exponential,
        maxRetries: field<number>(retry, 'maxRetries', 'number', retryPath) ?? 3,
        retryDelayInMs: span(retry, 'delay', retryPath, '00:00:00.8'),
        maxRetryDelayInMs: span(retry, 'maxDelay', retryPath, '00:01:00'),
        timeoutInMs: span(retry, 'tryTimeout', retryPath, '00:01:00'),
      },
    },
  };
}

/** Flex Consumption's default when host.json sets none; -1 means unbounded (Functions docs, "Function app timeout duration"). */
const DEFAULT_FUNCTION_TIMEOUT = '00:30:00';

function readFunctionTimeout(root: Json | undefined): number {
  const value = field<string>(root, 'functionTimeout', 'string', 'host.json') ?? DEFAULT_FUNCTION_TIMEOUT;
  if (value.trim() === '-1') return Infinity;
  return parseTimeSpan(value, 'host.json functionTimeout');
}

/** A .NET TimeSpan as host.json writes it (`[d.]hh:mm:ss[.fffffff]`), in milliseconds. */
export function parseTimeSpan(value: string, name: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!match) throw new Error(`${name}: "${value}" is not a time span like 00:05:00`);
  const [, days = '0', hours, minutes, seconds, fraction = '0'] = match;
  if (Number(minutes) > 59 || Number(seconds) > 59) throw new Error(`${name}: "${value}" is out of range`);
  const ms = Math.round(Number(`0.${fraction}`) * 1000);
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + ms;
}
