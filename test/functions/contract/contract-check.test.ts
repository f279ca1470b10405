import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContractChecker, SCHEMAS_BY_ID, type Answer, type OpenApi } from './contract-check';

const TASK_ID = '6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f';

const task = {
  id: TASK_ID,
  type: 'simulate',
  status: 'queued',
  progress: null,
  attempts: 0,
  cancelRequested: false,
  error: null,
  createdAt: '2026-12-06T15:00:00.000Z',
  startedAt: null,
  updatedAt: '2026-12-06T15:00:00.000Z',
  finishedAt: null,
  links: {
    self: `/api/tasks/${TASK_ID}`,
    events: `/api/tasks/${TASK_ID}/events`,
    result: `/api/tasks/${TASK_ID}/result`,
    cancel: `/api/tasks/${TASK_ID}`,
    input: `/api/tasks/${TASK_ID}/input`,
    steps: `/api/tasks/${TASK_ID}/steps`,
  },
  callback: null,
  rerunOf: null,
  waiting: null,
  maxDurationSeconds: null,
};

const ref = (name: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
});
const document: OpenApi = {
  paths: {
    '/api/tasks/{id}': { get: { responses: { '200': ref('Task'), '404': { content: {} } } } },
    '/api/tasks/{id}/events': { get: { responses: { '200': ref('EventList') } } },
  },
  components: { schemas: { Task: {}, EventList: {} } },
};
const answer = (body: unknown, overrides: Partial<Answer> = {}): Answer => ({
  method: 'GET',
  url: `http://localhost/api/tasks/${TASK_ID}`,
  status: 200,
  contentType: 'application/json',
  body,
  ...overrides,
});

describe('the contract checker', () => {
  const checker = new ContractChecker(document);

  it('passes a body of the documented schema and counts the response as covered', () => {
    assert.equal(checker.violation(answer(task)), undefined);
    assert.deepEqual([...checker.covered], ['GET /api/tasks/{id} 200']);
  });

  it('rejects a wrong type, a missing field and a field the contract does not name', () => {
    assert.match(checker.violation(answer({ ...task, attempts: '0' })) ?? '', /Task.*attempts/);
    assert.match(checker.violation(answer({ ...task, status: 'paused' })) ?? '', /status/);
    const { links: _links, ...withoutLinks } = task;
    assert.match(checker.violation(answer(withoutLinks)) ?? '', /links/);
    assert.match(
      checker.violation(answer({ ...task, owner: 'alice' })) ?? '',
      /fields the contract does not name/,
    );
    assert.match(
      checker.violation(answer({ ...task, progress: { percent: 5 } })) ?? '',
      /progress/,
      'a nested object is checked too',
    );
  });

  it('rejects an answer the document does not describe: status, media type, path, unnamed schema', () => {
    assert.match(checker.violation(answer(task, { status: 202 })) ?? '', /lists no 202/);
    assert.match(checker.violation(answer(task, { status: 404 })) ?? '', /no named schema/);
    assert.match(
      checker.violation(answer({ items: [], nextCursor: null }, { url: 'http://localhost/api/tasks' })) ?? '',
      /no operation/,
    );
  });

  it('knows every schema the real contract names', () => {
    for (const id of [
      'Task',
      'TaskList',
      'Event',
      'EventList',
      'Problem',
      'Health',
      'AdminStats',
      'DeadLetterList',
    ])
      assert.ok(SCHEMAS_BY_ID.has(id), id);
  });

  it('the built client loads nothing of the server but the webhook verifier it re-exports', () => {
    const dir = join(__dirname, '../../../client');
    const files = [
      ...readdirSync(dir).filter((f) => f.endsWith('.js')),
      ...readdirSync(join(dir, 'smoke')).map((f) => `smoke/${f}`),
    ].filter((f) => f.endsWith('.js') && f !== 'verify-webhook.js');
    assert.ok(files.includes('longhaul-client.js'));
    for (const file of files) {
      const code = readFileSync(join(dir, file), 'utf8');
      assert.doesNotMatch(code, /require\("(\.\.\/)+functions\//, file);
    }
  });
});
