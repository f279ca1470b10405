import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getApiDocs, getOpenApi } from '../../../../functions/app/http/handlers/api-docs';
import { getHealth, getReadiness } from '../../../../functions/app/http/handlers/health';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import { listTaskTypes } from '../../../../functions/app/http/handlers/task-types';
import { triggers } from '../../../../functions/app/triggers';
import type { HttpTrigger } from '../../../../functions/app/trigger-types';
import { startAppStack, type AppStack } from '../../../support/app-stack';
import { call } from '../../../support/http';

const fallback = (triggers.find((t) => t.name === 'fallback') as HttpTrigger).handler;

describe('task types, OpenAPI, docs, health and unknown routes', () => {
  let stack: AppStack;
  before(async () => {
    stack = await startAppStack();
  });
  after(() => stack.stop());

  it('lists task types with a JSON Schema and an example that the schema accepts', async () => {
    const res = await call(listTaskTypes, { path: '/api/task-types' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('longhaul-auth-mode'), 'none');
    const types = res.body as Array<{
      type: string;
      title: string;
      inputSchema: Record<string, unknown>;
      example: unknown;
    }>;
    const simulate = types.find((t) => t.type === 'simulate');
    assert.ok(simulate);
    assert.equal(simulate.inputSchema.type, 'object');
    const properties = simulate.inputSchema.properties as Record<
      string,
      { minimum?: number; maximum?: number }
    >;
    assert.equal(properties.steps.minimum, 1);
    assert.equal(properties.steps.maximum, 10_000);
    assert.deepEqual(simulate.example, { steps: 10, stepMs: 1000 });
  });

  it('serves an OpenAPI 3.1 document generated from the schemas, covering every route', async () => {
    const res = await call(getOpenApi, { path: '/api/openapi.json' });
    assert.equal(res.status, 200);
    const doc = res.body as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const [path, methods] of Object.entries({
      '/api/tasks': ['post', 'get'],
      '/api/tasks/{id}': ['get', 'delete'],
      '/api/tasks/{id}/result': ['get'],
      '/api/tasks/{id}/events': ['get'],
      '/api/task-types': ['get'],
      '/api/stream-tokens': ['post'],
      '/api/health/ready': ['get'],
    })) {
      for (const m of methods) assert.ok(doc.paths[path]?.[m], `${m} ${path}`);
    }
    for (const schema of ['Task', 'TaskList', 'Problem', 'Event', 'Submit_simulate']) {
      assert.ok(doc.components.schemas[schema], schema);
    }
    // The submit body carries the simulate input's own constraints.
    const submit = doc.components.schemas.Submit_simulate as {
      properties: { input: { properties: { steps: { maximum: number } } } };
    };
    assert.equal(submit.properties.input.properties.steps.maximum, 10_000);
  });

  it('names every operation (a unique operationId, a tag) and says how each authenticates', async () => {
    const doc = (await call(getOpenApi, { path: '/api/openapi.json' })).body as {
      paths: Record<string, Record<string, { operationId?: string; tags?: string[]; security?: unknown[] }>>;
      tags: Array<{ name: string }>;
      security: Array<Record<string, string[]>>;
      components: { securitySchemes: Record<string, { type: string }> };
    };
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, ...op })),
    );
    const ids = operations.map((op) => op.operationId);
    assert.ok(
      ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)),
      JSON.stringify(ids),
    );
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const op of operations) assert.ok(op.tags?.length && op.tags.every((t) => tags.has(t)), op.at);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
      'apiKey',
      'bearer',
      'signalLink',
      'streamToken',
    ]);
    assert.deepEqual(doc.security, [{ bearer: [] }, { apiKey: [] }]);
    const open = operations.filter((op) => op.security?.length === 0).map((op) => op.at);
    assert.deepEqual(open.sort(), ['get /api/health', 'get /api/health/ready', 'get /api/openapi.json']);
  });

  it('gives every task type an example submit body that the submit endpoint accepts', async () => {
    const doc = (await call(getOpenApi, { path: '/api/openapi.json' })).body as {
      paths: {
        '/api/tasks': {
          post: {
            requestBody: {
              content: { 'application/json': { examples: Record<string, { value: unknown }> } };
            };
          };
        };
      };
    };
    const examples = doc.paths['/api/tasks'].post.requestBody.content['application/json'].examples;
    const types = (await call(listTaskTypes, { path: '/api/task-types' })).body as Array<{ type: string }>;
    assert.deepEqual(Object.keys(examples).sort(), types.map((t) => t.type).sort());
    for (const [type, example] of Object.entries(examples)) {
      const res = await call(submitTask, { method: 'POST', path: '/api/tasks', body: example.value });
      assert.equal(res.status, 202, `${type}: ${JSON.stringify(res.body)}`);
    }
  });

  it('serves Swagger UI and its assets at /api/docs', async () => {
    const page = await call(getApiDocs, { path: '/api/docs' });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /swagger-ui-bundle\.js/);
    const bundle = await call(getApiDocs, {
      path: '/api/docs/swagger-ui-bundle.js',
      params: { file: 'swagger-ui-bundle.js' },
    });
    assert.equal(bundle.status, 200);
    assert.ok(bundle.text.length > 100_000);
    const init = await call(getApiDocs, { path: '/api/docs/init.js', params: { file: 'init.js' } });
    assert.match(init.text, /\/api\/openapi\.json/);
    assert.equal(
      (await call(getApiDocs, { path: '/api/docs/x', params: { file: '../package.json' } })).status,
      404,
    );
  });

  it('answers liveness, and readiness with each dependency and its latency', async () => {
    assert.equal((await call(getHealth, { path: '/api/health' })).status, 200);
    const res = await call(getReadiness, { path: '/api/health/ready' });
    assert.equal(res.status, 200, res.text);
    const body = res.body as {
      status: string;
      authMode: string;
      checks: Record<string, { ok: boolean; latencyMs: number }>;
    };
    assert.equal(body.status, 'ok');
    assert.equal(body.authMode, 'none');
    assert.equal(res.headers.get('longhaul-auth-mode'), 'none', 'an unauthenticated server says so');
    assert.deepEqual(Object.keys(body.checks).sort(), ['blobStorage', 'postgres', 'redis', 'serviceBus']);
    for (const check of Object.values(body.checks)) {
      assert.equal(check.ok, true);
      assert.equal(typeof check.latencyMs, 'number');
    }
  });

  it('answers unknown routes with 404 and wrong methods with 405 and Allow, as problems', async () => {
    const missing = await call(fallback, { path: '/api/nowhere' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const wrong = await call(fallback, {
      method: 'PUT',
      path: '/api/tasks/00000000-0000-4000-8000-000000000000',
    });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'DELETE, GET');
    const post = await call(fallback, { method: 'PATCH', path: '/api/tasks' });
    assert.equal(post.headers.get('allow'), 'GET, POST');
  });
});

describe('readiness with a dependency down', () => {
  let stack: AppStack;
  before(async () => {
    stack = await startAppStack({ REDIS_URL: 'redis://127.0.0.1:9' });
  });
  after(() => stack.stop());

  it('is 503 and names the dependency that failed', async () => {
    const res = await call(getReadiness, { path: '/api/health/ready' });
    assert.equal(res.status, 503);
    const body = res.body as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.status, 'degraded');
    assert.equal(body.checks.redis.ok, false);
    assert.ok(body.checks.redis.error);
    assert.equal(body.checks.postgres.ok, true);
  });
});
