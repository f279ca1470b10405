import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeAppServices } from '../../../../functions/app/app-services';
import { triggers } from '../../../../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../../../../local-dev/host';
import { startRedis, type RedisServer } from '../../../../local-dev/services/redis';
import { APIKEY_SETTINGS, keysCli } from '../../../support/api-keys';
import { startAppStack, useSettings, type AppStack } from '../../../support/app-stack';
import { isFinished, startWorker, waitForTask } from '../../../support/engine-harness';

interface Problem {
  type: string;
  status: number;
  detail: string;
  limit?: string;
  max?: number;
}

/** Real Redis and Postgres; the limits change per group through the settings (the app's services are rebuilt). */
describe('per-caller rate limits (AUTH_MODE=apikey)', () => {
  let stack: AppStack;
  let host: LocalHost;
  let restoreLimits: (() => void) | undefined;
  // Callers are unique per run: every test run on this machine shares the one Redis, where the counters live.
  const run = randomBytes(4).toString('hex');

  const newCaller = async (name: string) => (await keysCli('create', '--owner', `${name}-${run}`)).key;
  const api = (path: string, key: string, init: RequestInit = {}) =>
    fetch(`${host.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
    });
  const submit = (key: string, headers: Record<string, string> = {}) =>
    api('/api/tasks', key, {
      method: 'POST',
      headers,
      body: JSON.stringify({ type: 'simulate', input: { steps: 1, stepMs: 0 } }),
    });
  const problemOf = async (res: Response) => (await res.json()) as Problem;
  /** Settings for the group's limits: the next request builds the app's services with them. */
  const useLimits = async (settings: Record<string, string>) => {
    restoreLimits?.();
    restoreLimits = useSettings(settings);
    await closeAppServices();
  };

  before(async () => {
    stack = await startAppStack(APIKEY_SETTINGS);
    // The HTTP triggers only: no worker, so submitted tasks stay queued until a test starts one.
    host = await startLocalHost({
      triggers: triggers.filter((t) => t.kind === 'http'),
      port: 0,
      settings: stack.settings,
      log: () => undefined,
    });
  });
  after(async () => {
    restoreLimits?.();
    await host?.close();
    await stack?.stop();
  });

  describe('submits per window', () => {
    before(() =>
      useLimits({
        RATE_LIMIT_SUBMITS_PER_MINUTE: '3',
        RATE_LIMIT_READS_PER_MINUTE: '0',
        MAX_ACTIVE_TASKS_PER_CALLER: '0',
        RATE_LIMIT_WINDOW_SECONDS: '3',
      }),
    );

    it('refuses the 4th submit of a window with 429, Retry-After and RateLimit headers, writing nothing; replays still pass', async () => {
      const alice = await newCaller('alice');
      const first = await submit(alice, { 'idempotency-key': 'first' });
      assert.equal(first.status, 202);
      assert.equal(first.headers.get('ratelimit-limit'), '3');
      assert.equal(first.headers.get('ratelimit-remaining'), '2');
      assert.ok(Number(first.headers.get('ratelimit-reset')) >= 1);
      assert.equal((await submit(alice)).status, 202);
      assert.equal((await submit(alice)).status, 202);
      const written = await stack.counts();

      const refused = await submit(alice);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('content-type'), 'application/problem+json');
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3,
        `Retry-After ${retryAfter}`,
      );
      assert.equal(refused.headers.get('ratelimit-remaining'), '0');
      const body = await problemOf(refused);
      assert.equal(body.type, 'urn:longhaul:problem:rate-limited');
      assert.equal(body.limit, 'RATE_LIMIT_SUBMITS_PER_MINUTE');
      assert.equal(body.max, 3);
      assert.match(body.detail, /RATE_LIMIT_SUBMITS_PER_MINUTE: at most 3 /);
      assert.equal(
        (
          await api('/api/uploads', alice, {
            method: 'POST',
            body: JSON.stringify({ filename: 'a.csv', contentType: 'text/csv', size: 10 }),
          })
        ).status,
        429,
        'uploads spend the same budget',
      );
      assert.deepEqual(await stack.counts(), written, 'a refused submit writes nothing');

      const replay = await submit(alice, { 'idempotency-key': 'first' });
      assert.equal(replay.status, 200, 'an idempotent replay is never refused');
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await stack.counts(), written);
    });

    it('leaves other callers their own budget', async () => {
      const [carol, dave] = [await newCaller('carol'), await newCaller('dave')];
      for (let i = 0; i < 3; i++) assert.equal((await submit(carol)).status, 202);
      assert.equal((await submit(carol)).status, 429);
      assert.equal((await submit(dave)).status, 202);
      assert.equal((await api('/api/tasks', carol)).status, 200, 'reads are another budget');
    });

    it('resets when the window ends', async () => {
      const erin = await newCaller('erin');
      for (let i = 0; i < 3; i++) assert.equal((await submit(erin)).status, 202);
      const refused = await submit(erin);
      assert.equal(refused.status, 429);
      await sleep(Number(refused.headers.get('retry-after')) * 1000 + 100);
      const again = await submit(erin);
      assert.equal(again.status, 202);
      assert.equal(again.headers.get('ratelimit-remaining'), '2');
    });
  });

  describe('reads per window', () => {
    before(() =>
      useLimits({
        RATE_LIMIT_SUBMITS_PER_MINUTE: '0',
        RATE_LIMIT_READS_PER_MINUTE: '4',
        MAX_ACTIVE_TASKS_PER_CALLER: '0',
        RATE_LIMIT_WINDOW_SECONDS: '60',
      }),
    );

    it('counts every other authenticated request and refuses the 5th with 429', async () => {
      const frank = await newCaller('frank');
      const id = ((await (await submit(frank)).json()) as { id: string }).id;
      const reads = [`/api/tasks/${id}`, '/api/tasks', `/api/tasks/${id}/events`, '/api/task-types'];
      for (const [i, path] of reads.entries()) {
        const res = await api(path, frank);
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('ratelimit-remaining'), String(3 - i));
      }
      const refused = await api(`/api/tasks/${id}`, frank, { method: 'DELETE' });
      assert.equal(refused.status, 429);
      assert.equal((await problemOf(refused)).limit, 'RATE_LIMIT_READS_PER_MINUTE');
      assert.match((await problemOf(await api('/api/tasks', frank))).detail, /at most 4 requests per minute/);
      assert.ok(Number(refused.headers.get('retry-after')) > 50, 'the rest of the minute');
      assert.equal((await submit(frank)).status, 202, 'submits are another budget');
      assert.equal((await api('/api/tasks', await newCaller('gina'))).status, 200);
      assert.equal((await fetch(`${host.url}/api/health`)).status, 200, 'public endpoints are not limited');
    });
  });

  describe('active tasks', () => {
    before(() =>
      useLimits({
        RATE_LIMIT_SUBMITS_PER_MINUTE: '0',
        RATE_LIMIT_READS_PER_MINUTE: '0',
        MAX_ACTIVE_TASKS_PER_CALLER: '3',
      }),
    );

    it('lets exactly 3 of 10 parallel submits in, and the caller submits again once they have finished', async () => {
      const henry = await newCaller('henry');
      const written = await stack.counts();
      const results = await Promise.all(Array.from({ length: 10 }, () => submit(henry)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [202, 202, 202, ...Array<number>(7).fill(429)]);
      const refused = results.find((r) => r.status === 429) as Response;
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      const body = await problemOf(refused);
      assert.equal(body.type, 'urn:longhaul:problem:rate-limited');
      assert.equal(body.limit, 'MAX_ACTIVE_TASKS_PER_CALLER');
      assert.match(body.detail, /at most 3 queued or running tasks/);
      const now = await stack.counts();
      assert.equal(now.tasks, written.tasks + 3);
      assert.equal(now.payloads, written.payloads + 3, 'refused submits leave no payload blob behind');
      assert.equal((await submit(await newCaller('iris'))).status, 202, 'another caller is not limited');

      const ids = await Promise.all(
        results.filter((r) => r.status === 202).map(async (r) => ((await r.json()) as { id: string }).id),
      );
      const worker = await startWorker(stack);
      try {
        for (const id of ids) await waitForTask(stack, id, isFinished);
      } finally {
        await worker.close();
      }
      assert.equal((await submit(henry)).status, 202);
    });

    it('answers an idempotent replay with 200 while the caller is at the limit', async () => {
      const jack = await newCaller('jack');
      for (const key of ['a', 'b', 'c'])
        assert.equal((await submit(jack, { 'idempotency-key': key })).status, 202);
      assert.equal((await submit(jack, { 'idempotency-key': 'd' })).status, 429);
      const replay = await submit(jack, { 'idempotency-key': 'a' });
      assert.equal(replay.status, 200);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    });
  });

  describe('Redis down', () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis({ port: 0 });
      await useLimits({
        REDIS_URL: redis.url,
        RATE_LIMIT_SUBMITS_PER_MINUTE: '100',
        RATE_LIMIT_READS_PER_MINUTE: '100',
        MAX_ACTIVE_TASKS_PER_CALLER: '0',
        RATE_LIMIT_WINDOW_SECONDS: '60',
      });
    });
    after(() => redis.stop().catch(() => undefined));

    it('refuses submits with 503 and writes nothing, while reads still answer, and warns once', async () => {
      const kate = await newCaller('kate');
      const accepted = await submit(kate, { 'idempotency-key': 'before-outage' });
      assert.equal(accepted.status, 202);
      const { id } = (await accepted.json()) as { id: string };
      await redis.stop();
      const warn = mock.method(console, 'warn', () => undefined);
      try {
        const written = await stack.counts();
        const refused = await submit(kate);
        assert.equal(refused.status, 503);
        assert.equal(refused.headers.get('retry-after'), '5');
        assert.equal((await problemOf(refused)).type, 'urn:longhaul:problem:rate-limit-unavailable');
        assert.deepEqual(await stack.counts(), written, 'nothing written');

        const read = await api(`/api/tasks/${id}`, kate);
        assert.equal(read.status, 200, 'reads fail open');
        assert.equal(read.headers.get('ratelimit-limit'), null, 'no limit is claimed while none is counted');
        const replay = await submit(kate, { 'idempotency-key': 'before-outage' });
        assert.equal(replay.status, 200, 'a replay writes nothing, so it needs no limiter');

        // The app's log lines are JSON objects (functions/platform/logger.ts).
        const warnings = warn.mock.calls
          .map((c) => String(c.arguments[0]))
          .filter((line) => line.startsWith('{'))
          .map((line) => (JSON.parse(line) as { msg: string }).msg)
          .filter((msg) => msg.startsWith('rate limits:'));
        assert.equal(warnings.length, 1, 'one warning a minute at most');
        assert.match(warnings[0], /reads proceed unlimited/);
      } finally {
        warn.mock.restore();
      }
    });
  });
});
