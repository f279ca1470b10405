import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalHost } from '../../local-dev/host';
import { findInPath } from '../../local-dev/services/executables';
import { installHint } from '../../local-dev/services/install-hints';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import type { AppStack } from '../support/app-stack';
import { startAppOnLocalHost } from '../support/engine-harness';
import { runProcess } from '../support/run-process';

describe('the Python client (clients/python), with the machine python3, against the local stack', () => {
  let stack: AppStack;
  let host: LocalHost;
  before(async () => {
    if (!findInPath('python3')) throw new Error(`python3 not found in PATH: ${installHint('python3')}`);
    // Streams the server closes every second: watch() must reconnect within one task. A heartbeat a second: a
    // running task sees its cancel within a second.
    ({ stack, host } = await startAppOnLocalHost({
      SSE_MAX_SECONDS: '1',
      HEARTBEAT_SECONDS: '1',
      LOG_LEVEL: 'error',
    }));
  });
  after(async () => {
    await host?.close();
    await stack?.stop();
  });

  it('passes its unittest suite: every operation, watch() with Last-Event-ID resume, problems and connection errors', async (t) => {
    const root = join(findRepoRoot(), 'clients', 'python');
    // -S: no site-packages at all, so the client can only be using the standard library; -B: no bytecode in the tree.
    const run = await runProcess('python3', ['-S', '-B', '-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: root,
      env: { ...process.env, LONGHAUL_URL: host.url, LONGHAUL_KEY: '' },
    });
    for (const line of run.stderr.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(run.code, 0, run.stderr);
    const ran = /^Ran (\d+) tests? /m.exec(run.stderr);
    assert.ok(ran && Number(ran[1]) >= 8, `ran ${ran?.[1]} tests`);
    assert.match(run.stderr, /\nOK\n?$/);
  });
});
