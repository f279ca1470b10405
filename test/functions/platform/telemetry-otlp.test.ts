import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startAppStack, type AppStack } from '../../support/app-stack';
import { startHostProcess } from '../../support/engine-harness';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpAttribute[];
}
interface OtlpResource {
  resource: { attributes: OtlpAttribute[] };
}
type TracesBody = { resourceSpans: Array<OtlpResource & { scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
type MetricsBody = {
  resourceMetrics: Array<OtlpResource & { scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>;
};

/** A minimal OTLP/HTTP collector: keeps the JSON bodies POSTed to /v1/traces and /v1/metrics. */
async function startOtlpReceiver() {
  const traces: TracesBody[] = [];
  const metrics: MetricsBody[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = JSON.parse(
        (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'),
      ) as unknown;
      if (req.url === '/v1/traces') traces.push(body as TracesBody);
      if (req.url === '/v1/metrics') metrics.push(body as MetricsBody);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => traces.flatMap((t) => t.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
    serviceNames: () =>
      [...traces, ...metrics].flatMap((b) =>
        ('resourceSpans' in b ? b.resourceSpans : b.resourceMetrics).map(
          (r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
        ),
      ),
    metricNames: () =>
      metrics.flatMap((m) =>
        m.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.name))),
      ),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('telemetry over the wire: OTEL_EXPORTER_OTLP_ENDPOINT exports to an OTLP/HTTP collector', () => {
  let stack: AppStack;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let host: { child: ChildProcess; url: string };

  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startAppStack();
    // The API in a process of its own, as deployed: its entry point starts telemetry before loading the app.
    host = await startHostProcess(
      {
        ...stack.settings,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
      },
      'http',
    );
  });
  after(async () => {
    host?.child.kill('SIGKILL');
    receiver?.close();
    await stack?.stop();
  });

  it('sends the request spans (continuing the caller’s traceparent), Postgres spans and the app’s metrics', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const ready = await fetch(`${host.url}/api/health/ready`, {
      headers: { traceparent: `00-${traceId}-${parent}-01` },
    });
    assert.equal(ready.status, 200);
    const submitted = await fetch(`${host.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', input: { steps: 1, stepMs: 0 } }),
    });
    assert.equal(submitted.status, 202);

    const inTrace = () => receiver.spans().filter((s) => s.traceId === traceId);
    await eventually(() => inTrace().some((s) => s.name === 'GET /api/health/ready'), 'the server span');
    const server = inTrace().find((s) => s.name === 'GET /api/health/ready')!;
    assert.equal(server.parentSpanId, parent);
    await eventually(
      () =>
        inTrace().some(
          (s) =>
            s.parentSpanId === server.spanId &&
            s.attributes.some((a) => a.key.startsWith('db.') && a.value.stringValue === 'postgresql'),
        ),
      'a Postgres span under the request',
    );
    await eventually(() => receiver.spans().some((s) => s.name === 'POST /api/tasks'), 'the submit span');
    await eventually(
      () => receiver.metricNames().includes('longhaul.tasks.submitted'),
      'the submitted counter',
    );
    assert.ok(receiver.serviceNames().every((name) => name === 'longhaul'));
  });
});
