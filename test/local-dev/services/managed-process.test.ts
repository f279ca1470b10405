import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isAlive, startManagedProcess, stopPid } from '../../../local-dev/services/managed-process';
import { assertProcessesGone, descendantPids, makeTempDir } from './helpers';

const node = (script: string, readyTimeoutMs = 5_000) => ({
  name: 'probe',
  command: process.execPath,
  args: ['-e', script],
  ready: (line: string) => /^ready (\d+)$/.exec(line)?.[1],
  readyTimeoutMs,
});

describe('managed process', () => {
  it('resolves with what the ready line says, logs the output, and stops on the stop signal', async () => {
    const lines: string[] = [];
    const probe = await startManagedProcess({
      ...node("console.error('warming up'); console.log('ready 42'); setInterval(() => {}, 1000)"),
      log: (line) => lines.push(line),
    });
    assert.equal(probe.value, '42');
    assert.deepEqual(lines, ['[probe] warming up', '[probe] ready 42']);
    await Promise.all([probe.stop(), probe.stop()]);
    await probe.stop();
    assertProcessesGone([probe.pid]);
  });

  it('logs when a ready process exits without being asked to', { timeout: 5_000 }, async () => {
    const lines: string[] = [];
    const probe = await startManagedProcess({
      ...node("console.log('ready 1'); setTimeout(() => process.exit(5), 50)"),
      log: (line) => lines.push(line),
    });
    while (!lines.includes('[probe] exited unexpectedly (code 5)')) await delay(10);
    await probe.stop();
  });

  it('fails with the last output lines when the process exits before it is ready', async () => {
    await assert.rejects(
      startManagedProcess(node("console.error('bad config'); process.exit(3)")),
      /^Error: probe exited \(code 3\) before it was ready: bad config$/,
    );
  });

  it('fails when the process is not ready in time, once it has killed it', async () => {
    await assert.rejects(
      startManagedProcess(node("console.log('slow'); setInterval(() => {}, 1000)", 300)),
      /^Error: probe was not ready within 0.3 s: slow$/,
    );
    assert.deepEqual(descendantPids(), []);
  });

  it('fails clearly when the command does not exist', async () => {
    await assert.rejects(
      startManagedProcess({ ...node(''), command: '/nonexistent/binary' }),
      /probe: cannot run \/nonexistent\/binary: spawn \/nonexistent\/binary ENOENT/,
    );
  });

  describe('detached, with a log file', () => {
    const temp = makeTempDir('managed');
    after(() => temp.remove());

    it('leads a session of its own, writes its output to the file, and still logs it and stops', async () => {
      const logFile = join(temp.path, 'logs/probe.log');
      const lines: string[] = [];
      const probe = await startManagedProcess({
        ...node("console.error('warming up'); console.log('ready 7'); setInterval(() => {}, 1000)"),
        logFile,
        log: (line) => lines.push(line),
      });
      assert.equal(probe.value, '7');
      const stat = readFileSync(`/proc/${probe.pid}/stat`, 'utf8');
      assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), probe.pid, 'session id');
      assert.equal(readFileSync(logFile, 'utf8'), 'warming up\nready 7\n');
      assert.deepEqual(lines, ['[probe] warming up', '[probe] ready 7']);
      await probe.stop();
      assertProcessesGone([probe.pid]);
    });

    it('fails with the last lines of the file when the process exits before it is ready', async () => {
      await assert.rejects(
        startManagedProcess({
          ...node("console.error('bad config'); process.exit(3)"),
          logFile: join(temp.path, 'bad.log'),
        }),
        /^Error: probe exited \(code 3\) before it was ready: bad config$/,
      );
    });

    it('stopPid stops a process that ignores its stop signal with SIGKILL after the grace period', async () => {
      const stubborn = await startManagedProcess({
        ...node("process.on('SIGTERM', () => {}); console.log('ready 1'); setInterval(() => {}, 1000)"),
        logFile: join(temp.path, 'stubborn.log'),
      });
      const started = Date.now();
      await stopPid(stubborn.pid, 'SIGTERM', 300);
      assert.equal(isAlive(stubborn.pid), false);
      assert.ok(Date.now() - started >= 300, 'killed before the grace period ended');
    });
  });
});
