// First: spans and metrics are recorded only if the SDK is registered before the app's modules load.
import { metricPoints, spans, stopTelemetry } from '../../support/telemetry-setup';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';
import type { LocalHost } from '../../../local-dev/host';
import { APIKEY_SETTINGS, keysCli } from '../../support/api-keys';
import type { AppStack } from '../../support/app-stack';
import { isFinished, startAppOnLocalHost, waitForTask } from '../../support/engine-harness';
import { readSse } from '../../support/sse-client';
import { html, startLocalSite, type LocalSite } from '../tasks/scrape/local-site';

type Span = tracing.ReadableSpan;

/** A token in the shape of a real API key, put where a careless span or log line would pick it up. */
const QUERY_SECRET = `lh_${'Q'.repeat(43)}`;
const PEPPER = `FAKE-PEPPER-${randomBytes(8).toString('hex')}`;

describe('telemetry: one trace per task, metrics and structured logs (in-memory exporters)', () => {
  let stack: AppStack;
  let host: LocalHost;
  let site: LocalSite;
  let apiKey: string;
  const logLines: string[] = [];
  const console$ = { debug: console.debug, info: console.info, warn: console.warn, error: console.error };

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    });
  const submit = async (body: object, traceparent?: string) => {
    const res = await api('/api/tasks', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: traceparent ? { traceparent } : {},
    });
    assert.equal(res.status, 202, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  };

  before(async () => {
    site = await startLocalSite({ [`/?token=${QUERY_SECRET}`]: (res) => html(res, '<h1>One page</h1>') });
    // The app's log lines go to console (JSON); keep them for the assertions.
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      console[level] = (...args: unknown[]) => logLines.push(args.map(String).join(' '));
    }
    ({ stack, host } = await startAppOnLocalHost({
      ...APIKEY_SETTINGS,
      API_KEY_PEPPER: PEPPER,
      SLICE_BUDGET_SECONDS: '1',
      HEARTBEAT_SECONDS: '1',
      LEASE_SECONDS: '5',
      OUTBOUND_ALLOW_PRIVATE_HOSTS: `127.0.0.1:${site.port}`,
      LOG_LEVEL: 'debug',
    }));
    apiKey = (await keysCli('create', '--owner', 'tracer')).key;
  });
  after(async () => {
    Object.assign(console, console$);
    site?.close();
    await host?.close();
    await stack?.stop();
    await stopTelemetry();
  });

  const byId = (all: Span[]) => new Map(all.map((s) => [s.spanContext().spanId, s]));
  const parentOf = (span: Span) => span.parentSpanContext?.spanId;
  /**
   * The trace's spans once every parent in it has ended too: slice and message spans end a moment after the task's
   * status changes (draining events, settling the message).
   */
  const traceOf = async (traceId: string) => {
    for (let waited = 0; ; waited += 50) {
      const trace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      const ended = new Set(trace.map((s) => s.spanContext().spanId));
      const complete = trace.every((s) => s.kind === SpanKind.SERVER || ended.has(parentOf(s)!));
      if ((complete && trace.some((s) => s.name === 'task.step')) || waited > 5_000) return trace;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('follows a simulate task of three slices as one trace: request, messages, slices, steps, checkpoints', async () => {
    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const id = await submit(
      { type: 'simulate', input: { steps: 7, stepMs: 400 } },
      `00-${callerTrace}-${callerSpan}-01`,
    );
    // An open stream on the task: its events fan out to this process, counted while it is open.
    const stream = readSse(`${host.url}/api/tasks/${id}/events`, {
      headers: { authorization: `Bearer ${apiKey}` },
      until: (m) => m.some((e) => e.event === 'end'),
      timeoutMs: 30_000,
    });
    const openStreams = async () =>
      (await metricPoints('longhaul.sse.open_streams')).reduce((sum, p) => sum + p.value, 0);
    for (let waited = 0; (await openStreams()) !== 1; waited += 50) {
      assert.ok(waited < 10_000, 'the open stream is counted');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await waitForTask(stack, id, isFinished, 30_000)).status, 'succeeded');
    await stream;

    const trace = await traceOf(callerTrace);
    const spansById = byId(trace);
    const server = trace.find((s) => s.name === 'POST /api/tasks');
    assert.ok(server, 'the HTTP request has a server span in the caller’s trace');
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(parentOf(server), callerSpan, 'the server span continues the incoming traceparent');
    assert.equal(server.attributes['longhaul.task.id'], id);
    assert.equal(server.attributes['http.response.status_code'], 202);
    const { rows } = await stack.pool.query('SELECT trace_context FROM tasks WHERE id = $1', [id]);
    assert.equal(rows[0].trace_context, `00-${callerTrace}-${server.spanContext().spanId}-01`);

    const consumers = trace.filter((s) => s.kind === SpanKind.CONSUMER);
    const slices = trace.filter((s) => s.name === 'task.slice');
    assert.ok(slices.length >= 3, `three slices or more, got ${slices.length}`);
    assert.deepEqual(
      slices.map((s) => s.attributes['longhaul.slice']).sort(),
      slices.map((_, i) => i),
    );
    for (const consumer of consumers) {
      assert.equal(parentOf(consumer), server.spanContext().spanId, 'every message is a child of the submit');
    }
    for (const slice of slices) {
      const consumer = spansById.get(parentOf(slice)!);
      assert.equal(consumer?.kind, SpanKind.CONSUMER, 'each slice runs in its message’s span');
      assert.equal(consumer?.attributes['longhaul.task.id'], id);
      assert.equal(slice.attributes['longhaul.task.type'], 'simulate');
      assert.equal(slice.attributes['longhaul.attempt'], 1);
    }

    const steps = trace.filter((s) => s.name === 'task.step');
    assert.deepEqual(
      steps.map((s) => s.attributes['longhaul.step']).sort(),
      ['step-0', 'step-1', 'step-2', 'step-3', 'step-4', 'step-5', 'step-6'],
      'each step once: none ran again after a slice boundary',
    );
    const sliceIds = new Set(slices.map((s) => s.spanContext().spanId));
    assert.ok(
      steps.every((s) => sliceIds.has(parentOf(s)!)),
      'steps are children of their slice',
    );
    const stepIds = new Set(steps.map((s) => s.spanContext().spanId));
    const saves = trace.filter((s) => s.name === 'checkpoint.save');
    assert.ok(
      saves.length >= 7 && saves.every((s) => stepIds.has(parentOf(s)!)),
      'each step checkpoints in it',
    );
    const loads = trace.filter((s) => s.name === 'checkpoint.load');
    assert.equal(loads.length, slices.length, 'each slice loads the checkpoints once');
    assert.ok(loads.every((s) => sliceIds.has(parentOf(s)!)));
    assert.ok(trace.some((s) => s.name === 'lease.acquire' && sliceIds.has(parentOf(s)!)));
    assert.ok(trace.some((s) => s.name === 'blob.put' && parentOf(s) === server.spanContext().spanId));
    assert.ok(trace.some((s) => s.name === 'redis.publish'));
    assert.ok(
      trace.some(
        (s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql',
      ),
      'Postgres queries are traced',
    );

    const lines = logLines.filter((l) => l.includes(id)).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.length >= 3, 'the engine logs each slice boundary and the end');
    for (const line of lines) {
      assert.equal(line.taskId, id);
      assert.equal(line.traceId, callerTrace);
      assert.match(String(line.spanId), /^[0-9a-f]{16}$/);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(line.level)) && line.time && line.msg);
    }
  });

  it('traces a scrape’s outbound fetch as a client span of its step, without the query string', async () => {
    const id = await submit({
      type: 'scrape',
      input: { url: `${site.origin}/?token=${QUERY_SECRET}`, maxPages: 1 },
    });
    assert.equal((await waitForTask(stack, id, isFinished, 20_000)).status, 'succeeded');
    const server = spans
      .getFinishedSpans()
      .find((s) => s.attributes['longhaul.task.id'] === id && s.kind === SpanKind.SERVER);
    assert.ok(server);
    const trace = await traceOf(server.spanContext().traceId);
    const spansById = byId(trace);
    const fetches = trace.filter(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['http.request.method'] === 'GET',
    );
    const page = fetches.find((s) => s.attributes['url.full'] === `${site.origin}/`);
    assert.ok(
      page,
      `the page fetch is traced (got ${fetches.map((s) => s.attributes['url.full']).join(', ')})`,
    );
    assert.equal(page.attributes['http.response.status_code'], 200);
    assert.equal(spansById.get(parentOf(page)!)?.name, 'task.step', 'the fetch is a child of its step');
    // The http instrumentation leaves the outbound client's requests to it: one span per request, not two.
    assert.equal(fetches.filter((s) => s.attributes['url.full'] === `${site.origin}/`).length, 1);
    assert.equal(site.hits(`/?token=${QUERY_SECRET}`), 1);
  });

  it('records the task metrics by type', async () => {
    const sum = async (name: string, type?: string) =>
      (await metricPoints(name))
        .filter((p) => type === undefined || p.attributes['longhaul.task.type'] === type)
        .reduce((total, p) => total + p.value, 0);
    assert.equal(await sum('longhaul.tasks.submitted', 'simulate'), 1);
    assert.equal(await sum('longhaul.tasks.submitted', 'scrape'), 1);
    assert.equal(await sum('longhaul.tasks.succeeded', 'simulate'), 1);
    assert.equal(await sum('longhaul.tasks.succeeded', 'scrape'), 1);
    assert.equal(await sum('longhaul.tasks.failed'), 0);
    assert.equal(await sum('longhaul.task.queue_wait', 'simulate'), 1, 'one queue wait per task');
    assert.equal(await sum('longhaul.task.duration', 'simulate'), 1);
    const slices = (await metricPoints('longhaul.task.slices')).find(
      (p) => p.attributes['longhaul.task.type'] === 'simulate',
    );
    assert.ok(slices && slices.max !== undefined && slices.max >= 3, 'the simulate task took three slices');
    assert.ok((await sum('longhaul.checkpoint.latency')) >= 8, 'checkpoint saves and loads are timed');
    assert.ok((await sum('longhaul.progress.fanout_latency')) > 0, 'events reached the open stream');
    assert.equal(await sum('longhaul.sse.open_streams'), 0, 'the stream is counted out when it ends');
    assert.equal(await sum('longhaul.lease.takeovers'), 0);
    assert.equal(await sum('longhaul.deadletters'), 0);
  });

  it('never puts a secret in a log line, a span or a metric', async () => {
    const exported = JSON.stringify(
      spans
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
    );
    const everything = `${logLines.join('\n')}\n${exported}\n${JSON.stringify(await metricPoints('longhaul.tasks.submitted'))}`;
    assert.ok(logLines.length > 0 && exported.length > 0);
    for (const secret of [apiKey, PEPPER, QUERY_SECRET]) assert.ok(!everything.includes(secret));
  });
});
