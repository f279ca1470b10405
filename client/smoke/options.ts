import { parseArgs } from 'node:util';
import { parseListen } from './webhook-listener';

export const USAGE = `usage: npm run smoke -- [--url <base url>] [--key <api key>] [options]
Checks a Longhaul deployment end to end and prints a pass/fail table; exits 1 when a check fails.

  --url <url>              the app (default $LONGHAUL_URL, else http://localhost:7071)
  --key <key>              sent as Authorization: Bearer (default $LONGHAUL_KEY); an API key or an Entra token
  --long                   also follow one task for --long-seconds across the server's stream cuts
  --long-seconds <n>       how long that task runs (default 300: past Azure's 230 s HTTP limit)
  --webhook-url <url>      public URL (a tunnel) that reaches --webhook-listen: checks a signed webhook arrives
  --webhook-listen <addr>  [host:]port the webhook receiver listens on (default 127.0.0.1:8787)
  --webhook-secret <s>     the server's WEBHOOK_SIGNING_SECRET (default $LONGHAUL_WEBHOOK_SECRET)
  --scrape-url <url>       where the scrape check crawls one page (default: the app's own web UI)
  --only <checks>          run only these checks (comma-separated; 'task' means every task:* check)
  --skip <checks>          leave these checks out
  --keep-dead-letter       leave the failing task's dead letter in the queue (default: remove it)
  --timeout <s>            deadline of each check (default 120)
  --request-timeout <s>    deadline of each request (default 15)

checks: health ready auth task-types task:<type> cancel fail dead-letter webhook webhook-signature long-stream`;

export interface SmokeOptions {
  url: string;
  key?: string;
  long: boolean;
  longSeconds: number;
  webhookUrl?: string;
  webhookListen: string;
  webhookSecret?: string;
  scrapeUrl?: string;
  only: string[];
  skip: string[];
  keepDeadLetter: boolean;
  timeoutMs: number;
  requestTimeoutMs: number;
}

/** Thrown for a bad command line: the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

/** The command line over the environment (LONGHAUL_URL, LONGHAUL_KEY, LONGHAUL_WEBHOOK_SECRET), as the CLI does. */
export function parseSmokeArgs(argv: string[], env: NodeJS.ProcessEnv): SmokeOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        long: { type: 'boolean', default: false },
        'long-seconds': { type: 'string', default: '300' },
        'webhook-url': { type: 'string' },
        'webhook-listen': { type: 'string', default: '127.0.0.1:8787' },
        'webhook-secret': { type: 'string' },
        'scrape-url': { type: 'string' },
        only: { type: 'string', multiple: true, default: [] },
        skip: { type: 'string', multiple: true, default: [] },
        'keep-dead-letter': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '120' },
        'request-timeout': { type: 'string', default: '15' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const url = values.url ?? env.LONGHAUL_URL ?? 'http://localhost:7071';
  const options: SmokeOptions = {
    url: httpUrl('--url', url).replace(/\/+$/, ''),
    key: values.key ?? (env.LONGHAUL_KEY || undefined),
    long: values.long,
    longSeconds: positive('--long-seconds', values['long-seconds']),
    webhookUrl: values['webhook-url'] && httpUrl('--webhook-url', values['webhook-url']),
    webhookListen: values['webhook-listen'],
    webhookSecret: values['webhook-secret'] ?? (env.LONGHAUL_WEBHOOK_SECRET || undefined),
    scrapeUrl: values['scrape-url'] && httpUrl('--scrape-url', values['scrape-url']),
    only: names(values.only),
    skip: names(values.skip),
    keepDeadLetter: values['keep-dead-letter'],
    timeoutMs: positive('--timeout', values.timeout) * 1000,
    requestTimeoutMs: positive('--request-timeout', values['request-timeout']) * 1000,
  };
  try {
    parseListen(options.webhookListen);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return options;
}

/** Checks a selector names: itself, and `task` for `task:simulate` or `webhook` for `webhook-signature`. */
export function matches(selector: string, check: string): boolean {
  return check === selector || check.startsWith(`${selector}:`) || check.startsWith(`${selector}-`);
}

/** What a check needs to run before it; `--only` brings these in too. */
const NEEDS: Array<[RegExp, string]> = [
  [/^task:/, 'task-types'],
  [/^dead-letter$/, 'fail'],
  [/^webhook-signature$/, 'webhook'],
];

/** Whether a check runs under `--only` and `--skip` (the checks a selected one needs run too). */
export function isSelected(options: Pick<SmokeOptions, 'only' | 'skip'>, check: string): boolean {
  if (options.skip.some((s) => matches(s, check))) return false;
  if (options.only.length === 0) return true;
  if (options.only.some((s) => matches(s, check))) return true;
  // Needed by a selected check: e.g. `--only dead-letter` runs `fail`, whose failed task it looks for.
  return NEEDS.some(
    ([dependent, needed]) =>
      needed === check &&
      options.only.some((s) => dependent.test(s) || (s === 'task' && dependent.test('task:'))),
  );
}

function names(lists: string[]): string[] {
  return lists.flatMap((l) => l.split(',').map((n) => n.trim())).filter(Boolean);
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag}: expected a positive number, not '${value}'`);
  return n;
}

function httpUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: not a URL: '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${flag}: expected an http(s) URL, not '${value}'`);
  return value;
}
