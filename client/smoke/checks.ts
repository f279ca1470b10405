import { setTimeout as wait } from 'node:timers/promises';
import {
  LonghaulError,
  type LonghaulClient,
  type Readiness,
  type Task,
  type TaskType,
} from '../longhaul-client';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../verify-webhook';
import { followAndVerify, streamSummary } from './follow';
import type { SmokeOptions } from './options';
import { formatSeconds, SkipCheck, type CheckContext } from './runner';
import { startWebhookListener, type WebhookDelivery } from './webhook-listener';

/** SIGNATURE_HEADER as the docs spell it, for messages. */
const SIGNATURE = 'Longhaul-Signature';

/** What every check gets: the client (with the key and the request deadline) and the options. */
export interface Smoke {
  client: LonghaulClient;
  options: SmokeOptions;
}

type Check<T = undefined> = (ctx: CheckContext) => Promise<{ detail: string; value?: T }>;

const sleep = (ms: number, signal: AbortSignal) => wait(ms, undefined, { signal });

const since = (start: number) => formatSeconds(performance.now() - start);

/** GET /api/health: the process answers. */
export const health =
  ({ client }: Smoke): Check =>
  async () => {
    const started = performance.now();
    await client.health();
    return { detail: `200 in ${since(started)}` };
  };

/** GET /api/health/ready: 200 with every dependency up; a 503 names what is down. */
export const ready =
  ({ client }: Smoke): Check<Readiness> =>
  async () => {
    const readiness = await client.readiness();
    const checks = Object.entries(readiness.checks ?? {});
    const down = checks.filter(([, c]) => !c.ok);
    if (readiness.httpStatus !== 200 || down.length) {
      const what = down.map(([name, c]) => `${name}: ${c.error ?? 'down'}`).join('; ');
      throw new Error(`${readiness.httpStatus} ${readiness.status}${what ? `: ${what}` : ''}`);
    }
    if (checks.length === 0) throw new Error('200 but no dependency was checked');
    return {
      detail: checks.map(([name, c]) => `${name} ${c.latencyMs} ms`).join(', '),
      value: readiness,
    };
  };

/** The credential gets through: an authenticated read (`GET /api/tasks?limit=1`). */
export const auth =
  ({ client, options }: Smoke, readiness: Readiness | undefined): Check =>
  async () => {
    const mode = readiness?.authMode ? `AUTH_MODE=${readiness.authMode}` : 'the API';
    try {
      await client.list({ limit: 1 });
    } catch (err) {
      if (err instanceof LonghaulError && err.problem.status === 401) {
        throw new Error(
          options.key
            ? `${mode} refused the key (401): is it revoked, or for another deployment?`
            : `${mode} needs a key (401): pass --key or set LONGHAUL_KEY`,
        );
      }
      throw err;
    }
    const how = readiness?.authMode === 'none' ? 'no credential needed' : 'the credential is accepted';
    return { detail: `${mode}: ${how}` };
  };

/** GET /api/task-types: the types to submit, each with its example. */
export const taskTypes =
  ({ client }: Smoke): Check<TaskType[]> =>
  async () => {
    const types = await client.taskTypes();
    if (!types.length) throw new Error('no task types listed');
    return { detail: types.map((t) => t.type).join(', '), value: types };
  };

/** A small CSV whose columns fit the dataset example (`groupBy: {keys: ['region'], sum: ['amount']}`). */
const SMOKE_CSV = 'region,amount\nnorth,10\nsouth,5.5\nnorth,2\n';

interface Prepared {
  input: unknown;
  /** What the result says, or throws when it is wrong. */
  verify: (result: unknown) => string;
  /** What was run, e.g. how the input differs from the type's example. */
  adapted: string;
  /** For a type that waits for a signal: the signal to send once the task is waiting. */
  signal?: { name: string; payload: unknown };
}

/**
 * The type's example, adapted to finish in seconds. `scrape` crawls one page of the deployment's own web UI (always
 * there, public, and reachable from the app whatever the network allows outside), `dataset` reads a small CSV
 * uploaded through `POST /api/uploads`; other types run their example as it is.
 */
async function prepare(smoke: Smoke, type: TaskType, ctx: CheckContext): Promise<Prepared> {
  const example = (type.example ?? {}) as Record<string, unknown>;
  switch (type.type) {
    case 'simulate': {
      const { failAtStep: _f, failMode: _m, hangAtStep: _h, flakyRate: _r, ...rest } = example;
      return {
        input: { ...rest, steps: 3, stepMs: 200 },
        adapted: '3 steps of 200 ms',
        verify: (result) => {
          const r = result as { totalExecutions?: number };
          if (r.totalExecutions !== 3) throw new Error(`result: ${r.totalExecutions} step runs, expected 3`);
          return 'each step ran once';
        },
      };
    }
    case 'scrape': {
      const url = smoke.options.scrapeUrl ?? `${smoke.options.url}/`;
      return {
        input: { ...example, url, maxPages: 1, maxDepth: 0 },
        adapted: `one page of ${url}`,
        verify: (result) => {
          const r = result as {
            summary?: { ok?: number };
            pages?: Array<{ url: string; status?: number; error?: { message: string } }>;
          };
          const page = r.pages?.[0];
          if (!r.summary?.ok)
            throw new Error(
              `crawl of ${url} fetched no page: ${page?.error?.message ?? 'no page in the result'}`,
            );
          return `fetched (${page?.status ?? '?'})`;
        },
      };
    }
    case 'dataset': {
      ctx.note('uploading a CSV through POST /api/uploads');
      const blob = await smoke.client.upload('smoke.csv', 'text/csv', SMOKE_CSV).catch((err: Error) => {
        // The likely cause when only the PUT is refused: storage closed to this network (VNET_ENABLED=true).
        const hint = /^PUT .*: 403/.test(err.message)
          ? ' (does the storage firewall let this machine in? see docs/smoke-test.md)'
          : '';
        throw new Error(`upload: ${err.message}${hint}`);
      });
      return {
        input: { ...example, blob },
        adapted: `a 3-row CSV uploaded to ${blob}`,
        verify: (result) => {
          const rows = (result as { rows?: number }).rows;
          if (rows !== 3) throw new Error(`result: ${rows} rows, expected 3`);
          return '3 rows described';
        },
      };
    }
    case 'approval':
      return {
        input: example,
        adapted: 'its example, approved by a signal once it waits',
        signal: { name: 'decision', payload: { approve: true, comment: 'smoke test' } },
        verify: (result) => {
          if ((result as { published?: boolean }).published !== true)
            throw new Error('result: the approved report was not published');
          return 'published';
        },
      };
    default:
      return { input: type.example, adapted: 'its example input', verify: () => 'succeeded' };
  }
}

/** One task type: submit its (adapted) example, follow its stream to `succeeded`, read its result. */
export const taskOfType =
  (smoke: Smoke, type: TaskType): Check =>
  async (ctx) => {
    const { client } = smoke;
    const prepared = await prepare(smoke, type, ctx);
    ctx.note(`submitting ${type.type}`);
    const task = await client.submit(type.type, prepared.input);
    const { signal } = prepared;
    let signalled = false;
    const followed = await followAndVerify(client, task.id, {
      ...ctx,
      onItem: async (item) => {
        const waiting =
          (item.kind === 'snapshot' && item.task.status === 'waiting') ||
          (item.kind === 'event' && item.event.type === 'status' && item.event.status === 'waiting');
        if (!signal || !waiting || signalled) return;
        signalled = true;
        ctx.note(`sending the signal ${signal.name} to task ${task.id}`);
        await client.signal(task.id, signal.name, signal.payload);
      },
    });
    if (followed.end !== 'succeeded')
      throw new Error(await endedWrong(client, task.id, followed.end, 'succeeded'));
    ctx.note(`reading the result of task ${task.id}`);
    const said = prepared.verify(await client.result(task.id));
    return { detail: `${prepared.adapted}: ${said}; ${streamSummary(followed)}` };
  };

/** DELETE on a running task: it stops within a step and ends `cancelled`. */
export const cancel =
  ({ client }: Smoke): Check =>
  async (ctx) => {
    // 60 s of work if the cancel were ignored; a 500 ms step bounds how late a cancel that works can be.
    const task = await client.submit('simulate', { steps: 120, stepMs: 500 });
    let cancelledAt: number | undefined;
    const followed = await followAndVerify(client, task.id, {
      ...ctx,
      onItem: async (item) => {
        if (cancelledAt !== undefined) return;
        const running =
          (item.kind === 'snapshot' && item.task.status === 'running') ||
          (item.kind === 'event' && (item.event.type === 'progress' || item.event.status === 'running'));
        if (!running) return;
        ctx.note(`cancelling task ${task.id}`);
        cancelledAt = performance.now();
        const answer = await client.cancel(task.id);
        if (!answer.cancelRequested) throw new Error(`DELETE answered cancelRequested: false`);
      },
    });
    if (cancelledAt === undefined)
      throw new Error(`task ${task.id} ended ${followed.end} before it was seen running`);
    if (followed.end !== 'cancelled')
      throw new Error(await endedWrong(client, task.id, followed.end, 'cancelled'));
    return {
      detail: `running task cancelled ${since(cancelledAt)} after DELETE; ${streamSummary(followed)}`,
    };
  };

/** A permanent failure: `simulate` with `failMode: 'permanent'` ends `failed` with the error, at once. */
export const fail =
  ({ client }: Smoke): Check<Task> =>
  async (ctx) => {
    const submitted = await client.submit('simulate', {
      steps: 2,
      stepMs: 100,
      failAtStep: 1,
      failMode: 'permanent',
    });
    const followed = await followAndVerify(client, submitted.id, ctx);
    if (followed.end !== 'failed')
      throw new Error(await endedWrong(client, submitted.id, followed.end, 'failed'));
    const task = await client.get(submitted.id);
    if (!task.error) throw new Error(`task ${task.id} failed without an error`);
    if (task.attempts > 1) throw new Error(`a permanent error was retried: ${task.attempts} attempts`);
    return { detail: `failed with ${task.error.code}: ${task.error.message}`, value: task };
  };

/** The failed task's message is in the dead-letter queue with its reason (admin API); then removed, unless kept. */
export const deadLetter =
  ({ client, options }: Smoke, failed: Task): Check =>
  async (ctx) => {
    const LIMIT = 100;
    for (;;) {
      ctx.note(`looking for task ${failed.id} in GET /api/admin/dead-letters`);
      let letters;
      try {
        letters = await client.deadLetters(LIMIT);
      } catch (err) {
        if (err instanceof LonghaulError && err.problem.status === 403)
          throw new SkipCheck('needs an admin key');
        throw err;
      }
      const letter = letters.find((l) => l.taskId === failed.id);
      if (letter) {
        const expected = failed.error!;
        if (letter.reason !== expected.code || letter.description !== expected.message) {
          throw new Error(
            `dead letter ${letter.sequenceNumber} says ${letter.reason}: ${letter.description}; ` +
              `the task says ${expected.code}: ${expected.message}`,
          );
        }
        let cleanup = 'kept (--keep-dead-letter)';
        if (!options.keepDeadLetter) {
          try {
            await client.removeDeadLetter(letter.sequenceNumber);
            cleanup = 'then removed';
          } catch (err) {
            cleanup = `left in place: ${(err as Error).message}`;
          }
        }
        return {
          detail: `dead letter #${letter.sequenceNumber}, reason ${letter.reason} ("${letter.description}"); ${cleanup}`,
        };
      }
      if (letters.length === LIMIT) {
        // Peeked oldest first, 100 at most: ours may be behind older letters that nobody cleared.
        ctx.note(
          `task ${failed.id} is not among the ${LIMIT} oldest dead letters; clear old ones and run again`,
        );
      }
      await sleep(1_000, ctx.signal);
    }
  };

/** A task with a callbackUrl: its completion webhook reaches the local listener through `--webhook-url`. */
export const webhook =
  ({ client, options }: Smoke): Check<WebhookDelivery> =>
  async (ctx) => {
    const listener = await startWebhookListener(options.webhookListen);
    try {
      ctx.note(`submitting with callbackUrl ${options.webhookUrl} (listening on ${listener.address})`);
      const task = await client.submit(
        'simulate',
        { steps: 2, stepMs: 100 },
        { callbackUrl: options.webhookUrl },
      );
      const followed = await followAndVerify(client, task.id, ctx);
      if (followed.end !== 'succeeded')
        throw new Error(await endedWrong(client, task.id, followed.end, 'succeeded'));
      const ended = performance.now();
      const [delivery] = await Promise.all([
        listener.delivery(task.id, ctx.signal),
        // The server's side: `delivered` once it saw the listener's 200; its last error says why not yet.
        (async () => {
          for (;;) {
            const { callback } = await client.get(task.id);
            if (callback?.status === 'delivered') return;
            if (callback?.status === 'failed')
              throw new Error(`the server gave up on the webhook: ${callback.lastError}`);
            ctx.note(
              `waiting for the webhook of task ${task.id}: ${listener.count()} POSTs reached ${listener.address}; ` +
                `the server says ${callback?.status ?? 'no callback'} after ${callback?.attempts ?? 0} attempt(s)` +
                `${callback?.lastError ? ` (${callback.lastError})` : ''}; does ${options.webhookUrl} reach this listener?`,
            );
            await sleep(500, ctx.signal);
          }
        })(),
      ]);
      const body = JSON.parse(delivery.body) as Partial<Task>;
      if (body.id !== task.id || body.status !== 'succeeded')
        throw new Error(`the webhook carried task ${body.id} ${body.status}, expected ${task.id} succeeded`);
      return {
        detail:
          `task.${body.status} arrived ${since(ended)} after the end ` +
          `(attempt ${String(delivery.headers['longhaul-attempt'])}); callback delivered`,
        value: delivery,
      };
    } finally {
      await listener.close();
    }
  };

/** The webhook's `Longhaul-Signature` is the HMAC of its raw body with the server's signing secret. */
export const webhookSignature =
  ({ options }: Smoke, delivery: WebhookDelivery): Check =>
  async () => {
    if (!options.webhookSecret) throw new SkipCheck('needs --webhook-secret or LONGHAUL_WEBHOOK_SECRET');
    const header = delivery.headers[SIGNATURE_HEADER];
    if (typeof header !== 'string') throw new Error(`no ${SIGNATURE} header`);
    if (!verifyWebhookSignature(options.webhookSecret, delivery.body, header))
      throw new Error(`${SIGNATURE} does not verify with the given secret (or is over 5 minutes old)`);
    return { detail: `${SIGNATURE} verified (HMAC-SHA256 of the raw body, fresh timestamp)` };
  };

/**
 * One task that outlives any single stream: the server closes each after SSE_MAX_SECONDS (Azure's front end would cut
 * it at 230 s), the client reconnects with Last-Event-ID, and no persisted event is missed or seen twice.
 */
export const longStream =
  ({ client, options }: Smoke): Check =>
  async (ctx) => {
    const seconds = Math.ceil(options.longSeconds);
    const task = await client.submit('simulate', { steps: seconds, stepMs: 1000 });
    const followed = await followAndVerify(client, task.id, ctx);
    if (followed.end !== 'succeeded')
      throw new Error(await endedWrong(client, task.id, followed.end, 'succeeded'));
    const connections = followed.snapshots.length;
    if (connections < 2) {
      throw new Error(
        `the stream stayed open for the whole ${seconds} s task: the server never closed it ` +
          '(SSE_MAX_SECONDS above the task length?), so no reconnect was tested',
      );
    }
    const spans = followed.snapshots.slice(1).map((s, i) => s.at - followed.snapshots[i].at);
    const longest = Math.max(...spans);
    return {
      detail:
        `${connections} connections (reconnected every ${formatSeconds(longest)} at most, with Last-Event-ID); ` +
        `${followed.events.length} events, all ${followed.persisted} persisted ones once and in order`,
    };
  };

/** Why a task ended otherwise than expected, with its error when it has one. */
async function endedWrong(
  client: LonghaulClient,
  id: string,
  status: string,
  expected: string,
): Promise<string> {
  const task = await client.get(id).catch(() => undefined);
  const error = task?.error ? `: ${task.error.code}: ${task.error.message}` : '';
  return `task ${id} ended ${status}, expected ${expected}${error}`;
}
