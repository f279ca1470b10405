import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { metrics, trace } from '@opentelemetry/api';
import type * as AzureMonitor from '@azure/monitor-opentelemetry';
import type * as Identity from '@azure/identity';
import type * as HttpInstrumentationModule from '@opentelemetry/instrumentation-http';
import type * as PgInstrumentationModule from '@opentelemetry/instrumentation-pg';
import type * as SdkNode from '@opentelemetry/sdk-node';
import { isSelfTracedRequest } from './tracing';

export type TelemetryMode = 'azure-monitor' | 'otlp' | 'off';

export const SERVICE_NAME = 'longhaul';

/**
 * The SDKs take one to two seconds to load: a process without telemetry must not pay that (nor the test suite, which
 * starts many host processes), so each mode loads its own packages, synchronously, still before the app's modules.
 * The names are literals, never input.
 */
const load = createRequire(__filename);

let mode: TelemetryMode | undefined;

/**
 * Sets up tracing and metrics export; call it before anything else is imported, so the instrumentations patch `http`
 * and `pg` before the app loads them (the Azure Monitor distro requires this). With APPLICATIONINSIGHTS_CONNECTION_STRING:
 * the Azure Monitor distro, authenticating with the managed identity (AZURE_CLIENT_ID, else the system-assigned one)
 * because the deployed Application Insights accepts Entra ID tokens only. With OTEL_EXPORTER_OTLP_ENDPOINT: the
 * OpenTelemetry SDK exporting traces and metrics over OTLP/HTTP (the standard OTEL_EXPORTER_OTLP_* variables apply,
 * e.g. OTEL_EXPORTER_OTLP_PROTOCOL). Neither: nothing is registered, and every span and metric call is the API's no-op.
 * Idempotent: a second call returns the mode of the first.
 */
export function startTelemetry(env: Record<string, string | undefined> = process.env): TelemetryMode {
  if (mode) return mode;
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  const otlpEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (connectionString) {
    startAzureMonitor(connectionString, env);
    mode = 'azure-monitor';
  } else if (otlpEndpoint) {
    startOtlp(env);
    mode = 'otlp';
  } else {
    mode = 'off';
  }
  return mode;
}

/** Exports every span and metric still buffered (graceful shutdown); nothing to do when telemetry is off. */
export async function flushTelemetry(): Promise<void> {
  const tracerProvider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const providers = [tracerProvider.getDelegate?.() ?? tracerProvider, metrics.getMeterProvider()];
  await Promise.all(
    providers.map(async (provider) => {
      const flushable = provider as { forceFlush?: () => Promise<void> };
      // An exporter that cannot reach its endpoint must not stop the shutdown it is part of.
      await flushable.forceFlush?.().catch(() => undefined);
    }),
  );
}

/** Resource attributes of every span and metric: the service, and which instance of it (App Insights' role instance). */
function resourceAttributes(env: Record<string, string | undefined>): Record<string, string> {
  return {
    'service.name': SERVICE_NAME,
    'service.instance.id': env.WEBSITE_INSTANCE_ID ?? `${hostname()}:${process.pid}`,
    'deployment.environment.name': env.WEBSITE_INSTANCE_ID ? 'azure' : 'local',
  };
}

/**
 * Incoming requests get their server span from the trigger wrapper (`functions/app/traced-triggers.ts`), which also sees
 * the Functions host's own proxying; the outbound client traces its requests itself, hop by hop.
 */
const httpInstrumentationConfig: HttpInstrumentationModule.HttpInstrumentationConfig = {
  ignoreIncomingRequestHook: () => true,
  ignoreOutgoingRequestHook: (options) => isSelfTracedRequest(options),
};

function startAzureMonitor(connectionString: string, env: Record<string, string | undefined>): void {
  const { useAzureMonitor } = load('@azure/monitor-opentelemetry') as typeof AzureMonitor;
  const { ManagedIdentityCredential } = load('@azure/identity') as typeof Identity;
  const { resources } = load('@opentelemetry/sdk-node') as typeof SdkNode;
  const clientId = env.AZURE_CLIENT_ID?.trim();
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString,
      credential: clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential(),
    },
    resource: resources.resourceFromAttributes(resourceAttributes(env)),
    // A task's trace spans many slices over minutes or hours: a rate-limited sampler (the distro's default, 5 traces a
    // second) decides anew as the rate changes and can drop parts of one task, and it drops the first spans after a
    // start. A ratio decides by trace id, the same way for every span of a trace: keep them all.
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: true,
    instrumentationOptions: {
      http: {
        enabled: true,
        ...httpInstrumentationConfig,
      } as HttpInstrumentationModule.HttpInstrumentationConfig,
      postgreSql: { enabled: true },
      azureSdk: { enabled: true },
      // ioredis 6 has no instrumentation: Redis publishes are traced by hand.
      redis: { enabled: false },
      redis4: { enabled: false },
    },
  });
}

/** The instrumentations of the OTLP mode (the Azure Monitor distro brings its own): outgoing HTTP and Postgres. */
export function appInstrumentations(): SdkNode.NodeSDKConfiguration['instrumentations'] {
  const { HttpInstrumentation } = load(
    '@opentelemetry/instrumentation-http',
  ) as typeof HttpInstrumentationModule;
  const { PgInstrumentation } = load('@opentelemetry/instrumentation-pg') as typeof PgInstrumentationModule;
  return [new HttpInstrumentation(httpInstrumentationConfig), new PgInstrumentation()];
}

function startOtlp(env: Record<string, string | undefined>): void {
  const { NodeSDK, resources } = load('@opentelemetry/sdk-node') as typeof SdkNode;
  // Trace and metric exporters come from the OTEL_* environment (OTLP by default); no OTLP log export: logs are JSON lines.
  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes(resourceAttributes(env)),
    autoDetectResources: false,
    logRecordProcessors: [],
    instrumentations: appInstrumentations(),
  });
  sdk.start();
}
