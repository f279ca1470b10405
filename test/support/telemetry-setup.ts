// Imported first by telemetry tests: the SDK and its instrumentations must be registered before the app's modules (and
// `pg`) load, as `startTelemetry` does in the app's entry points.
import { NodeSDK, metrics, resources, tracing } from '@opentelemetry/sdk-node';
import { appInstrumentations, SERVICE_NAME } from '../../functions/platform/telemetry';

/**
 * Spans and metrics kept in memory: the app's own instrumentations (outgoing HTTP, Postgres) with a span exporter and a
 * metric reader a test reads. Metrics are exported only when the test flushes them.
 */
export const spans = new tracing.InMemorySpanExporter();
export const metricExporter = new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE);
export const metricReader = new metrics.PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});

const sdk = new NodeSDK({
  resource: resources.resourceFromAttributes({ 'service.name': SERVICE_NAME }),
  autoDetectResources: false,
  spanProcessors: [new tracing.SimpleSpanProcessor(spans)],
  metricReaders: [metricReader],
  logRecordProcessors: [],
  instrumentations: appInstrumentations(),
});
sdk.start();

/** The value of each data point of a metric, after a flush: sums and gauges as numbers, histograms as their count. */
export async function metricPoints(
  name: string,
): Promise<Array<{ attributes: Record<string, unknown>; value: number; max?: number }>> {
  await metricReader.forceFlush();
  const exported = metricExporter.getMetrics();
  const latest = exported[exported.length - 1];
  const metric = latest?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((p) => {
    const value = p.value as number | { count: number; max?: number };
    return typeof value === 'number'
      ? { attributes: p.attributes, value }
      : { attributes: p.attributes, value: value.count, max: value.max };
  });
}

export const stopTelemetry = () => sdk.shutdown();
