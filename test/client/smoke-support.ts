import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggers } from '../../functions/app/triggers';
import { startLocalHost, type LocalHost } from '../../local-dev/host';
import { freePort } from '../../local-dev/services/ports';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import { startAppStack, type AppStack } from '../support/app-stack';

// A port that was free a moment ago: the app's allowlist must name ports before anything listens on them.
export { freePort };

export interface SmokeStack {
  stack: AppStack;
  host: LocalHost;
  /** Where the smoke tool's webhook receiver listens; the app may call it (OUTBOUND_ALLOW_PRIVATE_HOSTS). */
  webhookPort: number;
}

/**
 * The whole app on the local host (HTTP, the Service Bus worker, timers) at a port known in advance, so the app may
 * crawl itself (the scrape check) and call the smoke tool's webhook receiver: both are loopback addresses, which
 * only OUTBOUND_ALLOW_PRIVATE_HOSTS lets through.
 */
export async function startSmokeStack(overrides: Record<string, string>): Promise<SmokeStack> {
  const port = await freePort();
  const webhookPort = await freePort();
  const stack = await startAppStack({
    OUTBOUND_ALLOW_PRIVATE_HOSTS: `127.0.0.1:${port},127.0.0.1:${webhookPort}`,
    ...overrides,
  });
  try {
    // As startAppHost, at this port rather than any free one.
    const host = await startLocalHost({
      triggers,
      port,
      settings: stack.settings,
      hostJson: JSON.parse(readFileSync(join(findRepoRoot(), 'host.json'), 'utf8')) as object,
      log: () => undefined,
    });
    return { stack, host, webhookPort };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

export interface SmokeRow {
  result: 'pass' | 'FAIL' | 'skip';
  duration: string;
  detail: string;
}

export interface SmokeRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The table, by check name. */
  rows: Map<string, SmokeRow>;
}

/** `npm run smoke -- <args>` in a process of its own, with none of this shell's LONGHAUL_* variables unless given. */
export async function runSmokeCli(args: string[], env: Record<string, string> = {}): Promise<SmokeRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LONGHAUL_')));
  const child = spawn(process.execPath, [join(__dirname, '../../client/smoke/cli.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...base, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr, rows: parseTable(stdout) };
}

/** The rows of the report: columns are separated by two spaces or more, and the detail has no runs of spaces. */
export function parseTable(stdout: string): Map<string, SmokeRow> {
  const rows = new Map<string, SmokeRow>();
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => /^CHECK\s+RESULT\s+DURATION\s+DETAIL/.test(l));
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const [name, result, duration, ...detail] = line.split(/\s{2,}/);
    rows.set(name, { result: result as SmokeRow['result'], duration, detail: detail.join('  ') });
  }
  return rows;
}

/** For assertion messages: the whole output of a run. */
export const show = (run: SmokeRun) => `exit ${run.code}\n${run.stdout}\n${run.stderr}`;
