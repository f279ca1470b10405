import { LonghaulClient } from '../longhaul-client';
import * as checks from './checks';
import { isSelected, type SmokeOptions } from './options';
import { CheckRunner, type CheckResult } from './runner';

/** The checks in the order the table lists them; `task:<type>` rows come after `task-types`. */
const FIXED_BEFORE = ['health', 'ready', 'auth', 'task-types'];
const FIXED_AFTER = ['cancel', 'fail', 'dead-letter', 'webhook', 'webhook-signature', 'long-stream'];

/**
 * Runs every selected check against the deployment at `options.url` and returns one row per check. Health and the
 * credential first (nothing else can pass without them); then the rest at once, since each waits on its own tasks.
 */
export async function runSmoke(
  options: SmokeOptions,
  onResult?: (result: CheckResult) => void,
): Promise<CheckResult[]> {
  const client = new LonghaulClient({
    baseUrl: options.url,
    headers: options.key ? { authorization: `Bearer ${options.key}` } : undefined,
    timeoutMs: options.requestTimeoutMs,
  });
  const smoke: checks.Smoke = { client, options };
  const runner = new CheckRunner({
    selected: (name) => isSelected(options, name),
    timeoutMs: options.timeoutMs,
    onResult,
  });
  runner.declare(...FIXED_BEFORE);

  const [live, ready] = await Promise.all([
    runner.run('health', checks.health(smoke)),
    runner.run('ready', checks.ready(smoke)),
  ]);
  const unreachable = live.verdict === 'fail' ? 'the API does not answer (health failed)' : undefined;
  const authed = await runner.run('auth', checks.auth(smoke, ready.value), {
    skip: unreachable,
  });
  // Everything after needs the API and a caller: one clear failure above, not the same one on every row.
  const gate = unreachable ?? (authed.verdict === 'fail' ? 'auth failed' : undefined);

  const types = await runner.run('task-types', checks.taskTypes(smoke), { skip: gate });
  const typeChecks = (types.value ?? []).map((type) => {
    const name = `task:${type.type}`;
    runner.declare(name);
    return () => runner.run(name, checks.taskOfType(smoke, type), { skip: gate });
  });
  runner.declare(...FIXED_AFTER);

  const longTimeoutMs = options.longSeconds * 1000 + options.timeoutMs;
  await Promise.all([
    ...typeChecks.map((run) => run()),
    runner.run('cancel', checks.cancel(smoke), { skip: gate }),
    (async () => {
      const failed = await runner.run('fail', checks.fail(smoke), { skip: gate });
      await runner.run('dead-letter', (ctx) => checks.deadLetter(smoke, failed.value!)(ctx), {
        needs: [failed],
        skip: gate,
      });
    })(),
    (async () => {
      const noWebhook = options.webhookUrl
        ? undefined
        : 'needs --webhook-url (a public URL that reaches --webhook-listen)';
      const delivered = await runner.run('webhook', checks.webhook(smoke), { skip: gate ?? noWebhook });
      await runner.run('webhook-signature', (ctx) => checks.webhookSignature(smoke, delivered.value!)(ctx), {
        needs: [delivered],
        skip: gate ?? noWebhook,
      });
    })(),
    runner.run('long-stream', checks.longStream(smoke), {
      // Minutes long: only on request (--long, or named in --only).
      skip:
        gate ?? (options.long || options.only.length > 0 ? undefined : 'run with --long (about 5 minutes)'),
      timeoutMs: longTimeoutMs,
    }),
  ]);
  return runner.results();
}
