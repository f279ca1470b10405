// First: spans and metrics are recorded only if the SDK is registered before the app's modules load.
import { metricExporter, metricReader, spans, stopTelemetry } from '../support/telemetry-setup';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { Client } from 'pg';
import { appServices } from '../../functions/app/app-services';
import { sweep } from '../../functions/engine/sweeper';
import type { LocalHost } from '../../local-dev/host';
import type { AppStack } from '../support/app-stack';
import { isFinished, startAppOnLocalHost, waitForTask } from '../support/engine-harness';
import { readSse } from '../support/sse-client';
import { repoRoot } from './bicep';
import { analyzeKql } from './kusto';

const APP = join(repoRoot, 'infra', 'app');
const QUERIES = join(APP, 'queries');
const queryFiles = readdirSync(QUERIES).filter((f) => f.endsWith('.kql'));
const query = (file: string) => readFileSync(join(QUERIES, file), 'utf8');

/** The alert rules of alerts.bicep: which query each runs and which of its columns it measures. */
function alertRules(): Array<{ file: string; measure: string }> {
  const bicep = readFileSync(join(APP, 'alerts.bicep'), 'utf8');
  return [...bicep.matchAll(/loadTextContent\('queries\/([^']+)'\)\s*\n\s*measure: '([^']+)'/g)].map((m) => ({
    file: m[1],
    measure: m[2],
  }));
}

/** What a query asks of the telemetry: the metric names it filters on, and the dimensions it reads. */
function references(text: string) {
  const code = text.replace(/\/\/.*$/gm, '');
  const dimensions = [...code.matchAll(/customDimensions\["([^"]+)"\]/g)].map((m) => m[1]);
  const literals = [...code.matchAll(/"(longhaul\.[a-z_.]+)"/g)].map((m) => m[1]);
  return {
    table: /^\s*(\w+)/.exec(code)?.[1] ?? '',
    metrics: literals.filter((l) => !dimensions.includes(l)),
    dimensions,
  };
}

describe('monitoring as code: the alerts and the workbook (infra/app/alerts.bicep, workbook.bicep)', () => {
  it('every query is valid KQL against the Application Insights tables, and each alert measures a number its query returns', () => {
    assert.ok(queryFiles.length >= 10, queryFiles.join());
    for (const file of queryFiles) {
      const { errors } = analyzeKql(query(file));
      assert.deepEqual(errors, [], file);
    }
    const rules = alertRules();
    assert.deepEqual(rules.map((r) => r.file).sort(), [
      'dead-letters.kql',
      'failed-task-rate.kql',
      'oldest-queued.kql',
      'queue-wait-p95.kql',
      'sse-errors.kql',
      'sweeper-redrives.kql',
    ]);
    for (const rule of rules) {
      const type = analyzeKql(query(rule.file)).columns.get(rule.measure);
      assert.ok(
        type && ['real', 'long', 'int', 'decimal'].includes(type),
        `${rule.file}: ${rule.measure} is ${type}`,
      );
    }
    // The checker does catch what it is for.
    assert.match(analyzeKql('customMetrics | where nme == "x"').errors.join(), /'nme'/);
    assert.match(analyzeKql('requests | summarize percentil(duration, 95)').errors.join(), /'percentil'/);
  });

  it('every query file is used by the alerts or the workbook, and every one they load exists', () => {
    const loaded = ['alerts.bicep', 'workbook.bicep'].flatMap((f) =>
      [...readFileSync(join(APP, f), 'utf8').matchAll(/loadTextContent\('queries\/([^']+)'\)/g)].map(
        (m) => m[1],
      ),
    );
    assert.deepEqual([...new Set(loaded)].sort(), [...queryFiles].sort());
    const main = readFileSync(join(repoRoot, 'infra', 'main.bicep'), 'utf8');
    for (const module of ['app/alerts.bicep', 'app/workbook.bicep'])
      assert.ok(main.includes(`'${module}'`), module);
  });

  describe('against the telemetry the app really emits (in-memory exporters, the local stack)', () => {
    let stack: AppStack;
    let host: LocalHost;
    const emitted = new Map<string, Set<string>>();
    const requestAttributes = new Set<string>();

    before(async () => {
      ({ stack, host } = await startAppOnLocalHost({ HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'error' }));
      const submit = async (input: object) => {
        const res = await fetch(`${host.url}/api/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'simulate', input }),
        });
        assert.equal(res.status, 202);
        return ((await res.json()) as { id: string }).id;
      };
      // Tasks that succeed, fail (and are dead-lettered) and are cancelled; a stream that opens.
      const ok = await submit({ steps: 1, stepMs: 0 });
      const failing = await submit({ steps: 1, stepMs: 0, failAtStep: 0, failMode: 'permanent' });
      const hanging = await submit({ steps: 1, stepMs: 0, hangAtStep: 0 });
      await waitForTask(stack, hanging, (t) => t.status === 'running');
      await readSse(`${host.url}/api/tasks/${ok}/events`, { until: (m) => m.some((x) => x.event === 'end') });
      await fetch(`${host.url}/api/tasks/${hanging}`, { method: 'DELETE' });
      for (const id of [ok, failing, hanging]) await waitForTask(stack, id, isFinished);

      // A queued task whose message never left (its row written as a crash after the commit would leave it).
      const lost = randomUUID();
      await stack.pool.query(
        `INSERT INTO tasks (id, type, status, owner, input_ref, input_bytes, created_at, updated_at)
         VALUES ($1, 'simulate', 'queued', 'local', $2, 2, now() - interval '10 minutes', now() - interval '10 minutes')`,
        [lost, `payloads/${lost}.json`],
      );
      await sweep(appServices().engine);

      // Postgres refusing connections (a real outage of the database): a stream whose snapshot cannot be read fails.
      const database = new URL(stack.settings.DATABASE_URL).pathname.slice(1);
      const admin = new Client({
        connectionString: stack.settings.DATABASE_URL.replace(/\/[^/]*$/, '/postgres'),
      });
      await admin.connect();
      // The test's own idle connections are cut too: their errors are expected.
      stack.pool.on('error', () => undefined);
      try {
        await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
        const failed = await readSse(`${host.url}/api/events`, { until: () => false, timeoutMs: 1_500 });
        assert.ok(
          failed.messages.every((m) => m.event !== 'snapshot'),
          'no snapshot without Postgres',
        );
      } finally {
        await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
        await admin.end();
      }

      await metricReader.forceFlush();
      for (const batch of metricExporter.getMetrics())
        for (const metric of batch.scopeMetrics.flatMap((s) => s.metrics)) {
          const keys = emitted.get(metric.descriptor.name) ?? new Set<string>();
          for (const point of metric.dataPoints)
            for (const key of Object.keys(point.attributes)) keys.add(key);
          emitted.set(metric.descriptor.name, keys);
        }
      // Server and consumer spans are the `requests` of Application Insights.
      for (const span of spans.getFinishedSpans())
        if (span.kind === SpanKind.SERVER || span.kind === SpanKind.CONSUMER)
          for (const key of Object.keys(span.attributes)) requestAttributes.add(key);
    });
    after(async () => {
      await host?.close();
      await stack?.stop();
      await stopTelemetry();
    });

    for (const file of queryFiles) {
      it(`${file}: the metrics it names are emitted, with the dimensions it reads`, () => {
        const { table, metrics, dimensions } = references(query(file));
        if (table === 'requests') {
          assert.deepEqual(metrics, []);
          for (const key of dimensions)
            assert.ok(requestAttributes.has(key), `a request span carries ${key}`);
          return;
        }
        assert.equal(table, 'customMetrics');
        const names = metrics.flatMap((m) =>
          m.endsWith('.') ? [...emitted.keys()].filter((name) => name.startsWith(m)) : [m],
        );
        assert.ok(names.length > 0, file);
        for (const name of names)
          assert.ok(emitted.has(name), `${name} emitted (${[...emitted.keys()].join(', ')})`);
        for (const key of dimensions) {
          assert.ok(
            names.some((name) => emitted.get(name)?.has(key)),
            `${key} is an attribute of ${names.join(' or ')}`,
          );
        }
      });
    }
  });
});
