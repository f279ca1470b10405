import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startManagedProcess } from '../../../local-dev/services/managed-process';
import { assertProcessesGone, descendantPids } from './helpers';

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
});
