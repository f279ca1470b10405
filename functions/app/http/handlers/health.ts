import { publicHandler } from '../handle';
import { json } from '../responses';
import type { Health, Liveness } from '../../../contract/api-schemas';
import { describeError } from '../../../platform/describe-error';

const CHECK_TIMEOUT_MS = 2_000;

/** GET /api/health: the process answers. */
export const getHealth = publicHandler(async () => json<Liveness>(200, { status: 'ok' }));

/** GET /api/health/ready: each dependency's state and latency (Redis only when used); 503 when any is down. */
export const getReadiness = publicHandler(async ({ services }) => {
  const { redis } = services;
  const checks = {
    postgres: () => services.pool.query('SELECT 1').then(() => undefined),
    ...(redis && {
      redis: async () => {
        await (await redis()).ping();
      },
    }),
    blobStorage: () => services.blobs.ping(),
    // Opening the sender link proves the namespace, the queue and the credentials.
    serviceBus: () => services.queue.ping(),
  };
  const results = Object.fromEntries(
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await timed(check)] as const),
    ),
  );
  const ok = Object.values(results).every((r) => r.ok);
  return json<Health>(ok ? 200 : 503, {
    status: ok ? 'ok' : 'degraded',
    authMode: services.settings.authMode,
    checks: results,
  });
});

async function timed(
  check: () => Promise<void>,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - start) };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - start),
      error: describeError(err).split('\n')[0],
    };
  } finally {
    clearTimeout(timer);
  }
}
