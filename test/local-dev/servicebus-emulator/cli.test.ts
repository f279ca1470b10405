import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { ServiceBusClient } from '@azure/service-bus';

const root = join(__dirname, '../../../..');
// Relative to this compiled file, so the test runs from whichever out dir it was compiled to.
const cli = join(__dirname, '../../../local-dev/servicebus-emulator/cli.js');

describe('servicebus-emulator command line', () => {
  it('prints a connection string the SDK can use, then stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [cli, '--config', join(root, 'local-dev/servicebus-config.json'), '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      assert.match(line, /^Endpoint=sb:\/\/127\.0\.0\.1:\d+;SharedAccessKeyName=RootManageSharedAccessKey;/);
      assert.match(line, /UseDevelopmentEmulator=true;$/);
      const client = new ServiceBusClient(line);
      await client
        .createSender('tasks')
        .sendMessages({ body: { taskId: 't-1', slice: 0 }, messageId: 't-1:0' });
      const receiver = client.createReceiver('tasks', { receiveMode: 'receiveAndDelete' });
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
      assert.deepEqual(m.body, { taskId: 't-1', slice: 0 });
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  it('refuses a bad config with one line naming the problem', async () => {
    const child = spawn(
      process.execPath,
      [cli, '--config', join(root, 'no-such-config.json'), '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(
      stderr.split('\n')[0],
      /^servicebus-emulator: Service Bus emulator config: cannot read .*no-such-config\.json/,
    );
  });
});
