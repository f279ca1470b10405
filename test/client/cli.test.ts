import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalHost } from '../../local-dev/host';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost } from '../support/engine-harness';
import { runProcess, type ProcessResult } from '../support/run-process';

function cli(url: string, ...args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [join(__dirname, '../../client/cli.js'), ...args, '--url', url]);
}

describe('the longhaul command line', () => {
  let stack: AppStack;
  let host: LocalHost;
  before(async () => {
    ({ stack, host } = await startAppOnLocalHost());
  });
  after(async () => {
    await host.close();
    await stack.stop();
  });

  it('submits with --watch, follows the task to the end and exits 0 on success', async () => {
    const run = await cli(host.url, 'submit', 'simulate', '--input', '{"steps":3,"stepMs":50}', '--watch');
    assert.equal(run.code, 0, run.stderr);
    const [id, last] = run.stdout.trim().split('\n');
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(last, /^\[#{30}\] 100% succeeded/);
    const ls = await cli(host.url, 'ls', '--limit', '1');
    assert.match(ls.stdout, new RegExp(`^${id}\\s+simulate\\s+succeeded`));
    const result = await cli(host.url, 'result', id);
    assert.equal((JSON.parse(result.stdout) as { totalExecutions: number }).totalExecutions, 3);
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

  it('prints the problem and every failing field, and exits 1, for bad input', async () => {
    const run = await cli(host.url, 'submit', 'simulate', '--input', '{"steps":0,"stepMs":-1}');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /422/);
    assert.match(run.stderr, /input\.steps:/);
    assert.match(run.stderr, /input\.stepMs:/);
  });
});
