import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ServiceBusClient, type ServiceBusError } from '@azure/service-bus';
import {
  parsePressureSpec,
  startServiceBusEmulator,
  type PressureOptions,
  type ServiceBusEmulator,
} from '../../../local-dev/servicebus-emulator';
import { until } from '../../support/until';
import { receiveCount } from './harness';

/** An emulator in pressure mode with one queue, and a client whose retries are quick (or off). */
async function underPressure(pressure: PressureOptions, maxRetries: number) {
  const logged: string[] = [];
  const emulator = await startServiceBusEmulator({
    pressure,
    log: (line) => logged.push(line),
    config: {
      UserConfig: { Namespaces: [{ Name: 'sbemulatorns', Queues: [{ Name: 'q', Properties: {} }] }] },
    },
  });
  const client = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries, retryDelayInMs: 200, timeoutInMs: 5_000 },
  });
  return { emulator, client, logged };
}

const codeOf = (err: unknown) => (err as ServiceBusError).code;

describe('Service Bus emulator: pressure mode', () => {
  const open: Array<{ emulator: ServiceBusEmulator; client: ServiceBusClient }> = [];
  const start = async (pressure: PressureOptions, maxRetries: number) => {
    const started = await underPressure(pressure, maxRetries);
    open.push(started);
    return started;
  };
  after(async () => {
    for (const { client, emulator } of open) {
      await client.close();
      await emulator.close();
    }
  });

  it('parses the --pressure spec and refuses a bad one', () => {
    assert.deepEqual(parsePressureSpec('serverBusy=200, lockLoss=0.02,disconnectEveryMs=5000'), {
      serverBusy: 200,
      lockLoss: 0.02,
      disconnectEveryMs: 5000,
    });
    assert.throws(() => parsePressureSpec('serverbusy=5'), /not one of serverBusy=<number>/);
    assert.throws(() => parsePressureSpec('lockLoss=2'), /lockLoss must be between 0 and 1/);
    assert.throws(() => parsePressureSpec('disconnectEveryMs='), /must be a positive number/);
  });

  it('throttles sends over the budget with ServerBusy, which the SDK retries in the next period', async () => {
    const { emulator, client } = await start({ serverBusy: 3 }, 0);
    const sender = client.createSender('q');
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await assert.rejects(sender.sendMessages({ body: 4 }), (err) => {
      assert.equal(codeOf(err), 'ServiceBusy');
      assert.match((err as Error).message, /is being throttled\. Error code : 50009/);
      assert.equal((err as ServiceBusError).retryable, true);
      return true;
    });
    assert.equal(emulator.queue('q')?.size, 3);

    const retrying = new ServiceBusClient(emulator.connectionString, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 1_100 },
    });
    try {
      const begin = Date.now();
      await retrying.createSender('q').sendMessages({ body: 5 });
      assert.ok(Date.now() - begin >= 1_000, 'the first attempt was throttled and retried a period later');
      assert.equal(emulator.queue('q')?.size, 4);
    } finally {
      await retrying.close();
    }
  });

  it('detaches a receiver that would go over the budget with ServerBusy; a subscribe() receiver carries on', async () => {
    const { emulator, client } = await start({ serverBusy: 2 }, 3);
    await client.createSender('q').sendMessages([{ body: 'a' }, { body: 'b' }]);
    const errors: string[] = [];
    const got: unknown[] = [];
    const receiver = client.createReceiver('q', { receiveMode: 'receiveAndDelete' });
    receiver.subscribe({
      processMessage: async (m) => void got.push(m.body),
      processError: async ({ error }) => void errors.push(codeOf(error) ?? error.name),
    });
    assert.ok(await until(() => got.length === 2, 5_000), `received ${got.length} of 2`);
    assert.deepEqual([...got].sort(), ['a', 'b']);
    assert.ok(errors.includes('ServiceBusy'), `errors reported: ${errors.join(', ')}`);
    assert.equal(emulator.queue('q')?.size, 0);
    await receiver.close();
  });

  it('loses a delivered lock: settling fails with MessageLockLost and the message comes back', async () => {
    const { emulator, client } = await start({ lockLoss: 1 }, 0);
    await client.createSender('q').sendMessages({ body: 'fragile' });
    const receiver = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveCount(receiver, 1);
    await assert.rejects(receiver.completeMessage(first), (err) => codeOf(err) === 'MessageLockLost');
    const [again] = await receiveCount(receiver, 1);
    assert.equal(again.body, 'fragile');
    assert.equal(again.deliveryCount, 1);
    assert.equal(emulator.queue('q')?.size, 1, 'not completed: still in the queue');
    await receiver.close();
  });

  it('closes connections with amqp:connection:forced; a subscribe() receiver reconnects and gets every message', async () => {
    const { client, logged } = await start({ disconnectEveryMs: 300 }, 10);
    const forced = () => logged.filter((line) => line.includes('amqp:connection:forced')).length;
    const got = new Set<unknown>();
    const receiver = client.createReceiver('q');
    receiver.subscribe({
      processMessage: async (m) => void got.add(m.body),
      processError: async () => undefined,
    });
    const sender = client.createSender('q');
    // Messages keep coming until three connections have been closed under the receiver.
    let sent = 0;
    for (const end = Date.now() + 5_000; forced() < 3 && Date.now() < end; sent++) {
      await sender.sendMessages({ body: sent });
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(forced() >= 3, `connections closed: ${forced()}`);
    assert.ok(await until(() => got.size === sent, 5_000), `${got.size} of ${sent}`);
    await receiver.close();
  });
});
