import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';

describe('Service Bus emulator close()', () => {
  it('lets the process exit even while a client with heartbeats is still connected', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'fixtures/close-with-client-connected.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(signal, null, 'it exited by itself, not killed after 10 s');
    assert.equal(code, 0);
    assert.match(out, /closed/);
  });
});
