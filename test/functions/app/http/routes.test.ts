import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchTemplate, parseRouteTemplate, Router, splitPath } from '../../../../functions/app/http/routes';

const match = (template: string, path: string): Record<string, string> | undefined =>
  matchTemplate(parseRouteTemplate(template), path === '' ? [] : path.split('/'));

describe('local host routes: templates', () => {
  it('parses literals, {param}, {param?} and {*catchAll}', () => {
    assert.deepEqual(parseRouteTemplate('tasks/{id}/result').segments, [
      { kind: 'literal', value: 'tasks' },
      { kind: 'param', name: 'id', optional: false },
      { kind: 'literal', value: 'result' },
    ]);
    assert.deepEqual(parseRouteTemplate('/files/{id?}').segments[1], {
      kind: 'param',
      name: 'id',
      optional: true,
    });
    assert.equal(parseRouteTemplate('{*path}').isCatchAll, true);
    assert.deepEqual(parseRouteTemplate('').segments, []);
  });

  it('refuses what it cannot honour: constraints, defaults, catch-all or optional not last, mixed segments, repeats', () => {
    assert.throws(
      () => parseRouteTemplate('tasks/{id:guid}'),
      /constraints and default values are not supported/,
    );
    assert.throws(() => parseRouteTemplate('tasks/{id=1}'), /not supported/);
    assert.throws(() => parseRouteTemplate('{*path}/x'), /catch-all "\{\*path\}" must be the last segment/);
    assert.throws(() => parseRouteTemplate('{id?}/x'), /optional "\{id\?\}" must be the last segment/);
    assert.throws(() => parseRouteTemplate('files/{name}.{ext}'), /exactly one \{parameter\}/);
    assert.throws(() => parseRouteTemplate('{id}/{ID}'), /appears twice/);
    assert.throws(() => parseRouteTemplate('a//b'), /empty segment/);
  });

  it('matches literals case-insensitively and passes parameters as the request wrote them', () => {
    assert.deepEqual(match('tasks/{id}/result', 'Tasks/AbC/RESULT'), { id: 'AbC' });
    assert.equal(match('tasks/{id}', 'tasks'), undefined);
    assert.equal(match('tasks/{id}', 'tasks/1/2'), undefined);
  });

  it('lets an optional parameter be absent and a catch-all take the rest of the path, or nothing', () => {
    assert.deepEqual(match('items/{id?}', 'items'), {});
    assert.deepEqual(match('items/{id?}', 'items/7'), { id: '7' });
    assert.deepEqual(match('files/{*path}', 'files/a/b/c'), { path: 'a/b/c' });
    assert.deepEqual(match('files/{*path}', 'files'), {});
  });
});

describe('local host routes: request paths', () => {
  it('strips the route prefix (any case) and one trailing slash, and decodes each segment', () => {
    assert.deepEqual(splitPath('/api/tasks/a%20b/', 'api'), ['tasks', 'a b']);
    assert.deepEqual(splitPath('/API/tasks', 'api'), ['tasks']);
    assert.deepEqual(splitPath('/api', 'api'), []);
    assert.deepEqual(splitPath('/api/', 'api'), []);
    assert.deepEqual(splitPath('/x/y', ''), ['x', 'y']);
  });

  it('keeps an encoded slash inside its segment', () => {
    assert.deepEqual(splitPath('/api/files/a%2Fb', 'api'), ['files', 'a/b']);
  });

  it('rejects paths outside the prefix', () => {
    assert.equal(splitPath('/apix/tasks', 'api'), undefined);
    assert.equal(splitPath('/', 'api'), undefined);
  });

  it('keeps a segment it cannot decode as it came, as Kestrel does, so the catch-all still answers', () => {
    assert.deepEqual(splitPath('/api/tasks/%E0%A4%A', 'api'), ['tasks', '%E0%A4%A']);
    assert.deepEqual(splitPath('/api/%ED%A0%80/x%20y', 'api'), ['%ED%A0%80', 'x y']);
  });
});

describe('local host routes: precedence and methods', () => {
  const router = new Router([
    { route: '{*path}', methods: ['GET', 'POST', 'PUT', 'DELETE'], value: 'catch-all' },
    { route: 'tasks/{id}', methods: ['GET', 'DELETE'], value: 'task' },
    { route: 'tasks/types', methods: ['GET'], value: 'types' },
    { route: 'tasks', methods: ['GET', 'POST'], value: 'tasks' },
    { route: 'tasks/{id?}', methods: ['PATCH'], value: 'optional' },
    { route: 'tasks/{id}/{*rest}', methods: ['GET'], value: 'task-rest' },
  ]);
  const found = (method: string, path: string): string | undefined => {
    const m = router.match(method, path === '' ? [] : path.split('/'));
    return m.kind === 'found' ? m.value : m.kind;
  };

  it('prefers a literal segment over a parameter, whatever the registration order', () => {
    assert.equal(found('GET', 'tasks/types'), 'types');
    assert.equal(found('GET', 'tasks/42'), 'task');
  });

  it('prefers a parameter over an optional one, and a shorter template on a tie', () => {
    assert.equal(found('GET', 'tasks'), 'tasks');
    assert.equal(found('PATCH', 'tasks'), 'optional');
    assert.equal(found('PATCH', 'tasks/1'), 'optional');
  });

  it('uses a catch-all route only when no other route takes the path and method', () => {
    assert.equal(found('GET', 'tasks/42/x/y'), 'task-rest');
    assert.equal(found('GET', 'nothing/here'), 'catch-all');
    assert.equal(found('GET', ''), 'catch-all');
    assert.equal(
      found('POST', 'tasks/42'),
      'catch-all',
      'wrong method on a known path goes to the catch-all',
    );
  });

  it('reports 405 with the allowed methods when only the method is wrong and there is no catch-all', () => {
    const plain = new Router([
      { route: 'tasks/{id}', methods: ['GET', 'delete'], value: 'task' },
      { route: 'tasks/{id?}', methods: ['PATCH'], value: 'optional' },
    ]);
    assert.deepEqual(plain.match('POST', ['tasks', '1']), {
      kind: 'methodNotAllowed',
      allow: ['DELETE', 'GET', 'PATCH'],
    });
    assert.deepEqual(plain.match('GET', ['other']), { kind: 'notFound' });
  });

  it('refuses two routes that take the same requests', () => {
    assert.throws(
      () =>
        new Router([
          { route: 'tasks/{id}', methods: ['GET'], value: 1 },
          { route: 'Tasks/{taskId}', methods: ['POST', 'GET'], value: 2 },
        ]),
      /Routes "tasks\/\{id\}" and "Tasks\/\{taskId\}" both match GET requests/,
    );
  });
});
