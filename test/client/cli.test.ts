import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalHost } from '../../local-dev/host';
import { freePort } from '../../local-dev/services/ports';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import type { AppStack } from '../support/app-stack';
import { isFinished, startAppOnLocalHost, waitForTask } from '../support/engine-harness';
import { runProcess, type ProcessResult } from '../support/run-process';

const CLI = join(__dirname, '../../client/cli.js');

/** The CLI with piped output (no terminal). */
function cli(url: string, ...args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI, ...args, '--url', url], {
    env: { ...process.env, LONGHAUL_URL: '', LONGHAUL_KEY: '' },
  });
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI in a pseudo-terminal (util-linux `script`), as a person runs it: stdout is a TTY, so progress is redrawn in
 * place. What it writes to the terminal (stdout and stderr together) and its exit code (`-e`).
 */
async function cliInTerminal(
  url: string,
  ...args: string[]
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, CLI, ...args, '--url', url].map(quote).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TERM: 'xterm' },
  });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, screen };
}

/** The last line of what a terminal shows: the text after the last newline or in-place redraw. */
const lines = (screen: string) =>
  screen
    .split(/\r?\n/)
    .map((line) => line.split('\r\x1b[2K').pop() ?? '')
    .filter(Boolean);

describe('the longhaul command line', () => {
  let stack: AppStack;
  let host: LocalHost;
  before(async () => {
    ({ stack, host } = await startAppOnLocalHost({ HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'error' }));
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  it('in a terminal, --watch redraws a progress bar in place and ends with the status and duration, exit 0', async () => {
    const run = await cliInTerminal(
      host.url,
      'submit',
      'simulate',
      '--input',
      '{"steps":3,"stepMs":150}',
      '--watch',
    );
    assert.equal(run.code, 0, run.screen);
    assert.ok(run.screen.includes('\r\x1b[2K['), 'the bar is redrawn in place');
    const shown = lines(run.screen);
    assert.match(shown[0], /^[0-9a-f-]{36}$/);
    assert.match(shown[shown.length - 2], /^\[#{30}\] 100% succeeded/);
    assert.match(shown[shown.length - 1], /^succeeded in \d+(\.\d)? (ms|s)$/);
    const id = shown[0];
    const ls = await cli(host.url, 'ls', '--limit', '1');
    assert.match(ls.stdout, new RegExp(`^${id}\\s+simulate\\s+succeeded\\s+\\d`));
    const result = await cli(host.url, 'result', id);
    assert.equal((JSON.parse(result.stdout) as { totalExecutions: number }).totalExecutions, 3);
  });

  it('a failed task ends the watch with its reason and step, exit 1; retry resumes it, rerun copies it', async () => {
    const input = '{"steps":2,"stepMs":0,"failAtStep":1,"failMode":"permanent"}';
    const run = await cliInTerminal(host.url, 'submit', 'simulate', '--input', input, '--watch');
    assert.equal(run.code, 1, run.screen);
    const shown = lines(run.screen);
    const id = shown[0];
    assert.match(
      shown[shown.length - 1],
      /^failed after \d+(\.\d)? (ms|s): permanent_failure: simulated permanent failure at step 1 \(in step step-1\)$/,
    );
    const ls = await cli(host.url, 'ls', '--status', 'failed', '--id-prefix', id.slice(0, 8));
    assert.match(ls.stdout, new RegExp(`^${id}\\s+simulate\\s+failed\\s+.+permanent_failure: simulated`));

    const steps = await cli(host.url, 'steps', id);
    assert.equal(steps.code, 0, steps.stderr);
    assert.match(
      steps.stdout,
      /^STEP\s+STATUS\s+ATTEMPTS\s+SLICE\s+DURATION\s+STORED\nstep-0\s+succeeded\s+1\s+0\s+/,
    );
    assert.match(steps.stdout, /\nstep-1\s+failed\s+1\s+-\s+/);
    const shownInput = await cli(host.url, 'input', id);
    assert.equal((JSON.parse(shownInput.stdout) as { failAtStep: number }).failAtStep, 1);

    const retried = await cli(host.url, 'retry', id, '--watch');
    assert.equal(retried.code, 1, 'it fails again: the failure is permanent');
    assert.match(retried.stdout, /failed after .+\(in step step-1\)\n$/);
    const rerun = await cli(host.url, 'rerun', id, '--idempotency-key', `cli-${id}`);
    assert.equal(rerun.code, 0, rerun.stderr);
    const copy = rerun.stdout.trim();
    assert.notEqual(copy, id);
    assert.equal((JSON.parse((await cli(host.url, 'get', copy)).stdout) as { rerunOf: string }).rerunOf, id);
    await waitForTask(stack, copy, isFinished);
    const counts = await cli(host.url, 'counts', '--id-prefix', id.slice(0, 8));
    assert.match(counts.stdout, /^queued\s+0\n/);
    assert.match(counts.stdout, /\nfailed\s+1\n/);
    assert.match(counts.stdout, /\ntotal\s+1\n$/);
  });

  it('a cancelled task ends the watch with exit 3', async () => {
    const submitted = await cli(
      host.url,
      'submit',
      'simulate',
      '--input',
      '{"steps":1,"stepMs":0,"hangAtStep":0}',
    );
    const id = submitted.stdout.trim();
    const watching = cliInTerminal(host.url, 'watch', id);
    await waitForTask(stack, id, (t) => t.status === 'running');
    assert.equal((await cli(host.url, 'cancel', id)).code, 0);
    const run = await watching;
    assert.equal(run.code, 3, run.screen);
    assert.match(lines(run.screen).pop() ?? '', /^cancelled after /);
  });

  it('--help works for the program and every command; bad command lines are exit 2 with the usage', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const run = await cli(host.url, ...args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stdout, /^usage: longhaul <command>/);
      for (const name of ['submit', 'watch', 'ls', 'input', 'steps', 'retry', 'rerun', 'signal', 'counts'])
        assert.match(run.stdout, new RegExp(`\\n  ${name} `));
      assert.match(run.stdout, /exit codes: 0 done/);
    }
    for (const args of [
      ['submit', '--help'],
      ['help', 'submit'],
    ]) {
      const run = await cli(host.url, ...args);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^usage: longhaul submit <type> \[options\]\n/);
      assert.match(run.stdout, /\n {2}--input <json> +the task input/);
      assert.match(run.stdout, /\n {2}--key <key> +/);
    }
    for (const [args, message] of [
      [[], /which command\?/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['get'], /missing <id>\nusage: longhaul get <id>/],
      [['ls', '--bogus'], /Unknown option '--bogus'.*\nusage: longhaul ls/],
      [['submit', 'simulate', '--input', '{'], /--input: not valid JSON/],
      [['get', 'a', 'b'], /unexpected argument "b"/],
      [['signal', 'a'], /missing <name>\nusage: longhaul signal <id> <name>/],
      [['signal', 'a', 'go', '--data', '{'], /--data: not valid JSON/],
    ] as const) {
      const run = await cli(host.url, ...args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, message);
    }
  });

  it('signal delivers a payload to a waiting task and prints what was kept; a bad payload is exit 4 naming the field', async () => {
    const submitted = await cli(
      host.url,
      'submit',
      'simulate',
      '--input',
      '{"steps":2,"stepMs":0,"waitAtStep":1}',
    );
    const id = submitted.stdout.trim();
    await waitForTask(stack, id, (t) => t.status === 'waiting');
    const bad = await cli(host.url, 'signal', id, 'continue', '--data', '{"note":1}');
    assert.equal(bad.code, 4);
    assert.match(bad.stderr, /422/);
    assert.match(bad.stderr, /payload\.note:/);
    const run = await cli(host.url, 'signal', id, 'continue', '--data', '{"note":"from the cli"}');
    assert.equal(run.code, 0, run.stderr);
    const kept = JSON.parse(run.stdout) as { name: string; duplicate: boolean; payload: unknown };
    assert.deepEqual(
      [kept.name, kept.duplicate, kept.payload],
      ['continue', false, { note: 'from the cli' }],
    );
    assert.equal((await waitForTask(stack, id, isFinished)).status, 'succeeded');
  });

  it('bad input is exit 4 with the problem and every failing field', async () => {
    const run = await cli(host.url, 'submit', 'simulate', '--input', '{"steps":0,"stepMs":-1}');
    assert.equal(run.code, 4);
    assert.match(run.stderr, /422/);
    assert.match(run.stderr, /input\.steps:/);
    assert.match(run.stderr, /input\.stepMs:/);
    const missing = await cli(host.url, 'get', '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /^longhaul: 404 .*No task 00000000-/);
  });

  it('a server that does not answer: which URL, what to do, exit 5', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(url, 'ls');
    assert.equal(run.code, 5);
    assert.match(run.stderr, new RegExp(`cannot reach ${url}: ECONNREFUSED`));
    assert.match(
      run.stderr,
      new RegExp(`Is the Longhaul API running at ${url}\\? Start it with \`npm start\``),
    );
  });

  it('runs as `longhaul` through the launcher package.json names, which keeps its exec bit across builds', async () => {
    const root = findRepoRoot();
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.deepEqual(manifest.bin, { longhaul: 'client/longhaul.mjs' });
    const launcher = join(root, manifest.bin.longhaul);
    // A clone has the mode git records: `git update-index --chmod=+x` is what makes this hold there.
    assert.equal(statSync(launcher).mode & 0o111, 0o111, `${launcher} is not executable`);
    const ls = await runProcess(launcher, ['ls', '--limit', '1', '--url', host.url]);
    assert.equal(ls.code, 0, ls.stderr);
  });
});
