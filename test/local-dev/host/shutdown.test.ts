import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { within } from './helpers';

describe('local host: shutdown', () => {
  it('leaves nothing running after close(): a process that used every trigger kind exits by itself', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'fixtures/start-and-close.js')], {
      env: { ...process.env, LOCAL_HOST_FIXTURE: 'start-and-close' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const [code] = (await within(once(child, 'exit'), 15_000, 'the process exited')) as [number];
      assert.equal(code, 0);
      assert.equal(stdout.trim(), 'closed');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
