import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { LonghaulClient } from '../../client/longhaul-client';
import { streamProblems } from '../../client/smoke/follow';
import { isSelected, parseSmokeArgs, UsageError } from '../../client/smoke/options';
import { exitCode, formatReport } from '../../client/smoke/report';
import { findRepoRoot } from '../../local-dev/services/repo-root';
import { APIKEY_SETTINGS, keysCli } from '../support/api-keys';
import { deadLetters } from '../support/engine-harness';
import { runProcess, type ProcessResult } from '../support/run-process';
import { freePort, parseTable, runSmokeCli, show, startSmokeStack, type SmokeStack } from './smoke-support';

const ALL_DEFAULT_CHECKS = [
  'health',
  'ready',
  'auth',
  'task-types',
  'task:simulate',
  'task:scrape',
  'task:dataset',
  'task:approval',
  'cancel',
  'fail',
  'dead-letter',
];

describe('the post-deploy smoke test (npm run smoke) against the local stack', () => {
  const secret = randomBytes(32).toString('hex');
  let env: SmokeStack;
  const keys = { admin: '', user: '' };
  const webhookArgs = () => [
    '--webhook-url',
    `http://127.0.0.1:${env.webhookPort}/hooks/smoke`,
    '--webhook-listen',
    `127.0.0.1:${env.webhookPort}`,
  ];

  before(async () => {
    env = await startSmokeStack({
      ...APIKEY_SETTINGS,
      WEBHOOK_SIGNING_SECRET: secret,
      // Streams close after 3 s, so long-stream sees the server cut and reconnect within seconds.
      SSE_MAX_SECONDS: '3',
    });
    keys.admin = (await keysCli('create', '--owner', 'smoke-ops', '--role', 'admin')).key;
    keys.user = (await keysCli('create', '--owner', 'smoke-user')).key;
  });
  after(async () => {
    await env?.host.close();
    await env?.stack.stop();
  });

  it('passes every check with an admin key, the signed webhook included, and exits 0', async (t) => {
    const run = await runSmokeCli(['--url', env.host.url, '--webhook-secret', secret, ...webhookArgs()], {
      LONGHAUL_KEY: keys.admin,
    });
    for (const line of run.stdout.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(run.code, 0, show(run));
    for (const name of [...ALL_DEFAULT_CHECKS, 'webhook', 'webhook-signature'])
      assert.equal(run.rows.get(name)?.result, 'pass', `${name}\n${show(run)}`);
    assert.equal(run.rows.get('long-stream')?.result, 'skip');
    assert.match(run.stdout, /\n13 passed, 0 failed, 1 skipped in /);
    assert.match(
      run.rows.get('task:scrape')!.detail,
      new RegExp(`one page of ${env.host.url}/: fetched \\(200\\)`),
    );
    assert.match(run.rows.get('dead-letter')!.detail, /reason permanent_failure .*then removed/);
    // It cleans up after itself: the failing task's dead letter is gone.
    assert.equal((await deadLetters(env.stack)).length, 0, 'no dead letter left behind');
  });

  it('--long: follows one task across server-closed streams, reconnecting with Last-Event-ID, none missed or twice', async (t) => {
    const run = await runSmokeCli(
      ['--url', env.host.url, '--key', keys.admin, '--long', '--long-seconds', '8'],
      {},
    );
    assert.equal(run.code, 0, show(run));
    const row = run.rows.get('long-stream');
    t.diagnostic(`long-stream: ${row?.detail}`);
    assert.equal(row?.result, 'pass', show(run));
    const connections = Number(/^(\d+) connections/.exec(row!.detail)?.[1]);
    assert.ok(connections >= 2, `reconnected: ${row!.detail}`);
    assert.match(row!.detail, /all \d+ persisted ones once and in order/);
  });

  it('a key without the admin role: the dead-letter check is skipped (not passed), and the run still exits 0', async () => {
    const run = await runSmokeCli(['--url', env.host.url, '--key', keys.user, '--only', 'dead-letter'], {});
    assert.equal(run.code, 0, show(run));
    assert.deepEqual([...run.rows.keys()], ['fail', 'dead-letter'], '--only brings in the check it needs');
    assert.equal(run.rows.get('fail')?.result, 'pass', show(run));
    assert.deepEqual(run.rows.get('dead-letter'), {
      result: 'skip',
      duration: run.rows.get('dead-letter')!.duration,
      detail: 'skipped: needs an admin key',
    });
    assert.match(run.stdout, /1 passed, 0 failed, 1 skipped/);
  });

  it('no key: auth fails naming the fix, every later check is skipped, exit 1', async () => {
    const run = await runSmokeCli(['--url', env.host.url], {});
    assert.equal(run.code, 1, show(run));
    assert.equal(run.rows.get('health')?.result, 'pass');
    assert.equal(run.rows.get('ready')?.result, 'pass');
    assert.deepEqual(run.rows.get('auth')?.result, 'FAIL');
    assert.match(
      run.rows.get('auth')!.detail,
      /AUTH_MODE=apikey needs a key \(401\): pass --key or set LONGHAUL_KEY/,
    );
    for (const name of ['task-types', 'cancel', 'fail', 'dead-letter', 'webhook', 'long-stream'])
      assert.equal(run.rows.get(name)?.detail, 'skipped: auth failed', name);
  });

  it('a webhook signed with another secret fails webhook-signature, exit 1', async () => {
    const run = await runSmokeCli(
      ['--url', env.host.url, '--only', 'webhook', '--webhook-secret', 'not-the-secret', ...webhookArgs()],
      { LONGHAUL_KEY: keys.admin },
    );
    assert.equal(run.code, 1, show(run));
    assert.equal(run.rows.get('webhook')?.result, 'pass', show(run));
    assert.equal(run.rows.get('webhook-signature')?.result, 'FAIL');
    assert.match(run.rows.get('webhook-signature')!.detail, /Longhaul-Signature does not verify/);
  });

  it('a webhook URL that does not reach the listener: the check fails at its deadline, saying what it waited for', async () => {
    const elsewhere = await freePort();
    const run = await runSmokeCli(
      [
        '--url',
        env.host.url,
        '--only',
        'webhook',
        '--timeout',
        '4',
        // The app may call webhookPort, where nothing listens now; the receiver is on another port.
        '--webhook-url',
        `http://127.0.0.1:${env.webhookPort}/hooks/smoke`,
        '--webhook-listen',
        `127.0.0.1:${elsewhere}`,
      ],
      { LONGHAUL_KEY: keys.admin },
    );
    assert.equal(run.code, 1, show(run));
    const row = run.rows.get('webhook')!;
    assert.equal(row.result, 'FAIL');
    assert.match(
      row.detail,
      new RegExp(
        `^no result within 4\\.0 s: waiting for the webhook of task [0-9a-f-]{36}: 0 POSTs reached 127\\.0\\.0\\.1:${elsewhere}; ` +
          'the server says pending after \\d attempt\\(s\\) \\(.*ECONNREFUSED.*\\)',
      ),
    );
    assert.equal(run.rows.get('webhook-signature')?.detail, 'skipped: webhook did not pass');
  });

  it('the azd postdeploy hook runs the smoke test only when SMOKE_AFTER_DEPLOY=true, after the URLs', async () => {
    const hook = (parseYaml(readFileSync(join(findRepoRoot(), 'azure.yaml'), 'utf8')) as AzureYaml).hooks
      .postdeploy;
    assert.match(
      hook.windows.run,
      /--urls-only.*SMOKE_AFTER_DEPLOY -eq 'true'.*dist\/client\/smoke\/cli\.js/,
    );
    // The posix variant for real, in a directory whose dist/ is this build, with the values azd would export.
    const cwd = mkdtempSync(join(tmpdir(), 'smoke-hook-'));
    symlinkSync(join(__dirname, '../..'), join(cwd, 'dist'));
    const azdEnv = {
      SERVICE_API_URI: env.host.url,
      AUTH_MODE: 'apikey',
      POSTGRES_HOST: 'unused',
      POSTGRES_DATABASE: 'unused',
      POSTGRES_ADMIN_NAME: 'unused',
      AZURE_IDENTITY_NAME: 'unused',
      AZURE_IDENTITY_PRINCIPAL_ID: 'unused',
      LONGHAUL_KEY: keys.admin,
    };
    try {
      const off = await sh(hook.posix.run, cwd, azdEnv);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /Longhaul is up/);
      assert.doesNotMatch(off.stdout, /CHECK/);

      const on = await sh(hook.posix.run, cwd, { ...azdEnv, SMOKE_AFTER_DEPLOY: 'true' });
      assert.equal(on.code, 0, `${on.stdout}\n${on.stderr}`);
      assert.match(on.stdout, /Longhaul is up[\s\S]*\nCHECK\s+RESULT/);
      const rows = parseTable(on.stdout);
      for (const name of ALL_DEFAULT_CHECKS) assert.equal(rows.get(name)?.result, 'pass', name);

      const broken = await sh(hook.posix.run, cwd, {
        ...azdEnv,
        SMOKE_AFTER_DEPLOY: 'true',
        SERVICE_API_URI: `http://127.0.0.1:${await freePort()}`,
      });
      assert.equal(broken.code, 1, 'a failed smoke test fails the hook');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('the smoke test without a server', () => {
  it('where nothing listens: health fails with the reason, the rest is skipped, exit 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runSmokeCli(['--url', url, '--request-timeout', '5'], {});
    assert.equal(run.code, 1, show(run));
    assert.equal(run.rows.get('health')?.result, 'FAIL');
    assert.equal(run.rows.get('health')?.detail, `cannot reach ${url}: ECONNREFUSED`);
    assert.equal(run.rows.get('auth')?.detail, 'skipped: the API does not answer (health failed)');
    assert.equal(run.rows.get('ready')?.detail, `cannot reach ${url}: ECONNREFUSED`);
    assert.match(run.stdout, /\n0 passed, 2 failed, 8 skipped in /);
  });

  it('every request has a deadline: a server that accepts and never answers fails health with how long it waited', async () => {
    const silent = createNetServer((socket) => socket.on('error', () => undefined)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const run = await runSmokeCli(['--url', url, '--request-timeout', '1'], {});
      assert.equal(run.code, 1, show(run));
      assert.equal(run.rows.get('health')?.detail, `GET ${url}/api/health: no answer within 1 s`);
    } finally {
      silent.close();
    }
  });

  it("watch() resumes after a connection cut mid-stream, sending the last event's id", async () => {
    const seenIds: Array<string | undefined> = [];
    const server = createHttpServer((req, res) => {
      seenIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const frame = (event: string, id: number | undefined, data: unknown) =>
        res.write(
          `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`,
        );
      if (seenIds.length === 1) {
        frame('snapshot', 0, { id: 't', status: 'running' });
        frame('progress', 4, { seq: 4, taskId: 't', type: 'progress' });
        // A reset, not a clean end: what a proxy's idle cut looks like to the client.
        setTimeout(() => req.socket.destroy(), 50);
      } else {
        frame('snapshot', 4, { id: 't', status: 'running' });
        frame('status', 5, { seq: 5, taskId: 't', type: 'status', status: 'succeeded' });
        frame('end', undefined, { status: 'succeeded' });
        res.end();
      }
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new LonghaulClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      });
      const errors: string[] = [];
      const kinds: string[] = [];
      for await (const item of client.watch('t', {
        retryMs: 10,
        lastEventId: '0',
        onConnectionError: (e) => errors.push(e.message),
      }))
        kinds.push(item.kind === 'event' ? `event ${item.event.seq}` : item.kind);
      assert.deepEqual(kinds, ['snapshot', 'event 4', 'snapshot', 'event 5', 'end']);
      assert.deepEqual(seenIds, ['0', '4']);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /^the stream of task t broke off: /);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a bad command line is a usage error (exit 2)', async () => {
    const run = await runSmokeCli(['--url', 'ftp://x', '--key', 'k'], {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--url: expected an http\(s\) URL/);
    assert.throws(() => parseSmokeArgs(['--webhook-listen', 'x:y'], {}), UsageError);
    assert.throws(() => parseSmokeArgs(['--timeout', '0'], {}), UsageError);
  });

  it('reads LONGHAUL_URL, LONGHAUL_KEY and LONGHAUL_WEBHOOK_SECRET, the flags winning', () => {
    const env = { LONGHAUL_URL: 'https://a.example/', LONGHAUL_KEY: 'k1', LONGHAUL_WEBHOOK_SECRET: 's1' };
    const fromEnv = parseSmokeArgs([], env);
    assert.ok(fromEnv !== 'help');
    assert.deepEqual([fromEnv.url, fromEnv.key, fromEnv.webhookSecret], ['https://a.example', 'k1', 's1']);
    const flags = parseSmokeArgs(
      ['--url', 'https://b.example', '--key', 'k2', '--webhook-secret', 's2'],
      env,
    );
    assert.ok(flags !== 'help');
    assert.deepEqual([flags.url, flags.key, flags.webhookSecret], ['https://b.example', 'k2', 's2']);
  });

  it('--only selects checks by name or group and brings in what they need; --skip leaves checks out', () => {
    const only = (...o: string[]) => ({ only: o, skip: [] });
    assert.ok(isSelected(only('task'), 'task:dataset'));
    assert.ok(isSelected(only('task'), 'task-types'));
    assert.ok(isSelected(only('task:scrape'), 'task-types'));
    assert.ok(!isSelected(only('task:scrape'), 'task:dataset'));
    assert.ok(isSelected(only('dead-letter'), 'fail'));
    assert.ok(isSelected(only('webhook'), 'webhook-signature'));
    assert.ok(!isSelected(only('webhook'), 'health'));
    assert.ok(!isSelected({ only: [], skip: ['task'] }, 'task:scrape'));
    assert.ok(isSelected({ only: [], skip: ['task:scrape'] }, 'task:dataset'));
  });

  it('stream verification: flags a persisted event never received, one received twice, and disorder', () => {
    // Gaps are live-only progress events; 9 was persisted after the stream ended (not expected on it).
    assert.deepEqual(streamProblems([1, 2, 4, 5, 7], [1, 2, 5, 7, 9]), []);
    assert.deepEqual(streamProblems([1, 2, 5, 7], [1, 2, 3, 5, 7]), ['persisted but never received: 3']);
    assert.deepEqual(streamProblems([1, 2, 3, 3, 4], [1, 2, 3, 4]), ['seen twice: 3']);
    assert.deepEqual(streamProblems([1, 3, 2, 4], [1, 2, 3, 4]), ['out of order: 2 after 3']);
  });

  it('the report: one row per check, skipped rows say why, exit code 1 only when something failed', () => {
    const rows = [
      { name: 'health', verdict: 'pass' as const, durationMs: 120, detail: '200 in 0.1 s' },
      { name: 'dead-letter', verdict: 'skip' as const, durationMs: 0, detail: 'needs an admin key' },
    ];
    const report = formatReport(rows, 1500);
    assert.deepEqual(
      [...parseTable(report).entries()],
      [
        ['health', { result: 'pass', duration: '0.1 s', detail: '200 in 0.1 s' }],
        ['dead-letter', { result: 'skip', duration: '-', detail: 'skipped: needs an admin key' }],
      ],
    );
    assert.match(report, /1 passed, 0 failed, 1 skipped in 1\.5 s$/);
    assert.equal(exitCode(rows), 0);
    assert.equal(exitCode([...rows, { name: 'cancel', verdict: 'fail', durationMs: 5, detail: 'x' }]), 1);
  });
});

interface AzureYaml {
  hooks: { postdeploy: { posix: { run: string }; windows: { run: string } } };
}

/** Runs a hook's posix script as azd would: `sh -c`, in the project directory, with the azd env exported. */
function sh(script: string, cwd: string, env: Record<string, string>): Promise<ProcessResult> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('LONGHAUL_') && k !== 'SMOKE_AFTER_DEPLOY'),
  );
  return runProcess('sh', ['-c', script], {
    cwd,
    env: { ...base, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env },
  });
}
