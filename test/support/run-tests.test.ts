import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AZURE_POSTGRES_MAJOR } from '../../local-dev/services/postgres-binaries';
import { freePort } from '../../local-dev/services/ports';
import { makeTempDir, nodeOnlyPath } from '../local-dev/services/helpers';

const RUNNER = join(__dirname, '../run-tests.js');
const PROBE = join(__dirname, 'server-probe.js');

/** `npm test`'s runner on the probe file alone: its exit code and output. */
async function runTests(
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  // Without NODE_TEST_CONTEXT, which would make the runner's own `node --test` report to this one.
  const { NODE_TEST_CONTEXT: _context, ...inherited } = process.env;
  const child = spawn(process.execPath, [RUNNER, PROBE], { env: { ...inherited, ...env } });
  let [out, err] = ['', ''];
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out, err };
}

describe("npm test's runner", () => {
  const temp = makeTempDir('run-tests');
  after(() => temp.remove());

  it('starts the embedded PostgreSQL (Azure major version) and a redis-server for the run when nothing answers', async () => {
    const probe = join(temp.path, 'embedded.json');
    const run = await runTests({
      TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      TEST_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      SERVER_PROBE_OUT: probe,
    });
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(
      run.out,
      /nothing answers at 127\.0\.0\.1:\d+ \(TEST_POSTGRES_URL\): starting a private PostgreSQL/,
    );
    assert.match(run.out, /PostgreSQL \d+\.\d+ \(embedded, from npm\)/);
    assert.match(run.out, /nothing answers at 127\.0\.0\.1:\d+ \(TEST_REDIS_URL\): starting a private Redis/);
    const seen = JSON.parse(readFileSync(probe, 'utf8')) as { postgres: string; redis: string };
    assert.equal(Number(seen.postgres.split('.')[0]), AZURE_POSTGRES_MAJOR);
    assert.equal(seen.redis, 'PONG');
  });

  it('stops before running anything, in one line naming the install, when no Redis answers or is installed', async () => {
    const probe = join(temp.path, 'no-redis.json');
    const run = await runTests({
      TEST_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      PATH: nodeOnlyPath(temp.path),
      SERVER_PROBE_OUT: probe,
    });
    assert.equal(run.code, 1);
    assert.equal(run.out, '');
    const lines = run.err.trim().split('\n');
    assert.equal(lines.length, 1, run.err);
    assert.match(
      lines[0],
      /^npm test: nothing answers at 127\.0\.0\.1:\d+ \(TEST_REDIS_URL\)\. Redis not found/,
    );
    // This machine is Debian: the hint is its command.
    assert.match(
      lines[0],
      /install it with `sudo apt-get install redis-server`, or set TEST_REDIS_URL to a running server\.$/,
    );
    assert.equal(existsSync(probe), false, 'no test ran');
  });
});
