import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startTcpProxy, type TcpProxy } from '../../../../chaos/tcp-proxy';
import { closeAppServices } from '../../../../functions/app/app-services';
import { submitTask } from '../../../../functions/app/http/handlers/submit-task';
import { startAppStack, useSettings, type AppStack } from '../../../support/app-stack';
import { call } from '../../../support/http';

const DEADLINE_MS = 1_000;

const submit = (headers: Record<string, string> = {}) =>
  call(submitTask, {
    method: 'POST',
    path: '/api/tasks',
    body: { type: 'simulate', input: { steps: 1 } },
    headers,
  });

/** The 503 a submit gets when `dependency` does not answer: a problem naming it, with a Retry-After. */
function assertDependencyTimeout(res: Awaited<ReturnType<typeof submit>>, dependency: string): void {
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '5');
  const body = res.body as { type: string; detail: string; dependency: string };
  assert.match(body.type, /dependency-timeout$/);
  assert.equal(body.dependency, dependency);
  assert.match(body.detail, new RegExp(`^${dependency} did not answer within ${DEADLINE_MS} ms`));
}

/**
 * Submits while one dependency is partitioned (a proxy that drops or holds its bytes): every dependency call of the
 * submit has a deadline, so the request is answered, and what it leaves is consistent.
 */
describe('POST /api/tasks when a dependency does not answer', () => {
  let stack: AppStack;
  let proxy: TcpProxy;
  let restore: () => void;

  /** Routes the app's connections to the service on `port` through the proxy, for the services built next. */
  async function partitionable(setting: 'TASKS_STORAGE' | 'DATABASE_URL', pattern: RegExp): Promise<void> {
    const port = Number(pattern.exec(stack.settings[setting])![1]);
    proxy = await startTcpProxy(port);
    restore = useSettings({
      [setting]: stack.settings[setting].replace(`127.0.0.1:${port}`, `127.0.0.1:${proxy.port}`),
    });
    await closeAppServices();
  }

  before(async () => {
    stack = await startAppStack({ SUBMIT_DEPENDENCY_TIMEOUT_MS: String(DEADLINE_MS) });
  });
  afterEach(async () => {
    await closeAppServices();
    restore();
    await proxy.close();
  });
  after(() => stack.stop());

  it('Blob storage: 503 with Retry-After, and nothing accepted', async () => {
    await partitionable('TASKS_STORAGE', /BlobEndpoint=http:\/\/127\.0\.0\.1:(\d+)/);
    assert.equal((await submit()).status, 202, 'the route works before the partition');
    const before = await stack.counts();
    proxy.blackhole();
    const started = Date.now();
    const res = await submit();
    // A bound on hanging, not a speed figure: without the deadline the SDK waits minutes.
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    assertDependencyTimeout(res, 'Blob storage');
    proxy.heal();
    assert.deepEqual((await stack.counts()).tasks, before.tasks);
    assert.equal((await submit()).status, 202, 'submits work again once it answers');
  });

  it('Postgres: 503, and the row that commits late is left queued and unsent, for the sweeper to send', async () => {
    await partitionable('DATABASE_URL', /@127\.0\.0\.1:(\d+)/);
    assert.equal((await submit()).status, 202, 'the route works before the partition');
    const before = (await stack.counts()).tasks;
    // Bytes held, not lost: the insert reaches Postgres long after the deadline and commits.
    proxy.delay(DEADLINE_MS * 2);
    const res = await submit();
    assertDependencyTimeout(res, 'Postgres');
    let late: { status: string; enqueued_at: Date | null } | undefined;
    for (const end = Date.now() + 15_000; !late && Date.now() < end;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await stack.counts()).tasks === before) continue;
      const { rows } = await stack.pool.query<{ status: string; enqueued_at: Date | null }>(
        'SELECT status, enqueued_at FROM tasks ORDER BY created_at DESC LIMIT 1',
      );
      late = rows[0];
    }
    assert.ok(late, 'the late insert committed');
    assert.equal(late.status, 'queued');
    assert.equal(
      late.enqueued_at,
      null,
      'its message never left: the sweeper sends it (SWEEP_UNSENT_SECONDS)',
    );
  });

  it('Postgres, with an Idempotency-Key: 503 before anything is written', async () => {
    await partitionable('DATABASE_URL', /@127\.0\.0\.1:(\d+)/);
    assert.equal((await submit()).status, 202, 'the route works before the partition');
    const before = await stack.counts();
    proxy.blackhole();
    assertDependencyTimeout(await submit({ 'idempotency-key': 'during-partition' }), 'Postgres');
    proxy.heal();
    const after = await stack.counts();
    assert.equal(after.tasks, before.tasks);
    assert.equal(after.payloads, before.payloads, 'the lookup comes first: no payload blob was written');
  });
});
