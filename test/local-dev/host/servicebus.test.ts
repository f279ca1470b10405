import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../local-dev/servicebus-emulator';
import type { ServiceBusMessageActions, ServiceBusTrigger } from '../../../functions/trigger-types';
import { sleep, startTestHost, waitFor, type TestHost } from './helpers';

const QUEUES = ['meta', 'retry', 'dlq', 'unsettled', 'busy'];
const emulatorConfig = {
  UserConfig: {
    Namespaces: [{ Name: 'sbemulatorns', Queues: QUEUES.map((Name) => ({ Name, Properties: {} })) }],
  },
};

interface Delivery {
  body: unknown;
  context: InvocationContext;
  actions: ServiceBusMessageActions | undefined;
}

function queueTrigger(
  name: string,
  queueName: string,
  handler: (delivery: Delivery, deliveries: Delivery[]) => Promise<void>,
  sdkBinding = false,
): { trigger: ServiceBusTrigger; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const trigger: ServiceBusTrigger = {
    kind: 'serviceBus',
    name,
    connection: 'ServiceBusConnection',
    queueName,
    sdkBinding,
    handler: async (body, context, actions) => {
      const delivery = { body, context, actions };
      deliveries.push(delivery);
      await handler(delivery, deliveries);
    },
  };
  return { trigger, deliveries };
}

const metadata = (d: Delivery): Record<string, unknown> => d.context.triggerMetadata ?? {};

describe('local host: Service Bus triggers', () => {
  let emulator: ServiceBusEmulator;
  let client: ServiceBusClient;
  let host: TestHost;
  let active = 0;
  let maxActive = 0;

  const meta = queueTrigger('meta', '%META_QUEUE%', async () => undefined);
  const retry = queueTrigger('retry', 'retry', async (_d, all) => {
    if (all.length === 1) throw new Error('first attempt fails');
  });
  const dlq = queueTrigger(
    'dlq',
    'dlq',
    async (d) => d.actions!.deadLetter('bad-input', 'steps must be positive'),
    true,
  );
  const unsettled = queueTrigger(
    'unsettled',
    'unsettled',
    async (d, all) => {
      if (all.length > 1) await d.actions!.complete();
    },
    true,
  );
  const busy = queueTrigger('busy', 'busy', async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    await sleep(150);
    active--;
  });

  const send = (
    queue: string,
    message: Parameters<ReturnType<ServiceBusClient['createSender']>['sendMessages']>[0],
  ) => client.createSender(queue).sendMessages(message);
  const queueSize = (queue: string): number | undefined => emulator.queue(queue)?.size;

  before(async () => {
    emulator = await startServiceBusEmulator({ config: emulatorConfig, log: () => undefined });
    client = new ServiceBusClient(emulator.connectionString);
    host = await startTestHost({
      triggers: [meta, retry, dlq, unsettled, busy].map((q) => q.trigger),
      settings: { ServiceBusConnection: emulator.connectionString, META_QUEUE: 'meta' },
    });
  });
  after(async () => {
    await host.close();
    await client.close();
    await emulator.close();
  });

  it('delivers the body with the trigger metadata the Functions host gives, and completes the message', async () => {
    const before = Date.now();
    await send('meta', {
      body: { taskId: 't-1', slice: 0 },
      messageId: 't-1:0',
      correlationId: 'corr-1',
      contentType: 'application/json',
      subject: 'task',
      applicationProperties: { traceparent: '00-abc-def-01' },
    });
    await waitFor(() => meta.deliveries.length === 1, 5_000, 'message delivered');
    const [d] = meta.deliveries;
    assert.deepEqual(d.body, { taskId: 't-1', slice: 0 });
    assert.equal(d.actions, undefined, 'no settlement actions without sdkBinding');
    assert.equal(d.context.functionName, 'meta');
    const m = metadata(d);
    assert.equal(m.messageId, 't-1:0');
    assert.equal(m.deliveryCount, 1, 'counted from 1, as the .NET client in the Functions host does');
    assert.equal(typeof m.sequenceNumber, 'number');
    assert.ok(Date.parse(String(m.enqueuedTimeUtc)) >= before - 5);
    assert.ok(Date.parse(String(m.lockedUntilUtc)) > Date.now());
    assert.equal(typeof m.expiresAtUtc, 'string');
    assert.deepEqual(m.applicationProperties, { traceparent: '00-abc-def-01' });
    assert.deepEqual(m.userProperties, m.applicationProperties);
    assert.equal(m.correlationId, 'corr-1');
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.subject, 'task');
    assert.match(String(m.lockToken), /^[0-9a-f-]{36}$/);
    await waitFor(() => queueSize('meta') === 0, 5_000, 'message completed');
  });

  it('abandons a message whose handler throws, so it comes back with deliveryCount + 1', async () => {
    await send('retry', { body: 'again', messageId: 'r-1' });
    await waitFor(() => retry.deliveries.length === 2, 5_000, 'redelivery');
    assert.deepEqual(
      retry.deliveries.map((d) => metadata(d).deliveryCount),
      [1, 2],
    );
    assert.ok(host.logs.some((l) => l.startsWith("Executed 'retry' (Failed")));
    assert.ok(host.logs.some((l) => l.includes('first attempt fails')));
    await waitFor(() => queueSize('retry') === 0, 5_000, 'completed after the second delivery');
  });

  it('lets an sdkBinding handler dead-letter the message with a reason and description', async () => {
    await send('dlq', { body: { steps: -1 }, messageId: 'd-1' });
    await waitFor(() => dlq.deliveries.length === 1, 5_000, 'message delivered');
    const receiver = client.createReceiver('dlq', {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    const [dead] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    await receiver.close();
    assert.equal(dead?.messageId, 'd-1');
    assert.equal(dead.deadLetterReason, 'bad-input');
    assert.equal(dead.deadLetterErrorDescription, 'steps must be positive');
    await sleep(200);
    assert.equal(dlq.deliveries.length, 1, 'not delivered again');
  });

  it('abandons a message an sdkBinding handler left unsettled', async () => {
    await send('unsettled', { body: 'x', messageId: 'u-1' });
    await waitFor(() => unsettled.deliveries.length === 2, 5_000, 'redelivery');
    assert.deepEqual(
      unsettled.deliveries.map((d) => metadata(d).deliveryCount),
      [1, 2],
    );
    await waitFor(() => queueSize('unsettled') === 0, 5_000, 'completed by the handler');
  });

  it('runs at most host.json maxConcurrentCalls handlers of a trigger at once', async () => {
    await send(
      'busy',
      Array.from({ length: 6 }, (_, i) => ({ body: i })),
    );
    await waitFor(() => busy.deliveries.length === 6 && active === 0, 5_000, 'all six handled');
    assert.equal(maxActive, 2);
  });
});

/** The emulator as its own process, so that it can really crash (SIGKILL) and come back on the same port. */
async function spawnEmulator(port: number): Promise<{ child: ChildProcess; connectionString: string }> {
  const child = spawn(
    process.execPath,
    [
      join(__dirname, '../../../local-dev/servicebus-emulator/cli.js'),
      '--config',
      join(process.cwd(), 'local-dev/servicebus-config.json'),
      '--port',
      String(port),
      '--quiet',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [connectionString] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, connectionString };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

describe('local host: Service Bus outage', () => {
  it('keeps receiving after the Service Bus emulator crashes and comes back on the same port', async () => {
    let emulator = await spawnEmulator(0);
    const port = Number(/:(\d+);/.exec(emulator.connectionString)![1]);
    const { trigger, deliveries } = queueTrigger('worker', 'tasks', async () => undefined);
    const host = await startTestHost({
      triggers: [trigger],
      settings: { ServiceBusConnection: emulator.connectionString },
    });
    const sendOne = async (connectionString: string, body: string): Promise<void> => {
      const client = new ServiceBusClient(connectionString);
      await client.createSender('tasks').sendMessages({ body, messageId: body });
      await client.close();
    };
    try {
      await sendOne(emulator.connectionString, 'before');
      await waitFor(() => deliveries.length === 1, 5_000, 'delivery before the crash');
      await kill(emulator.child, 'SIGKILL');
      await sleep(300);
      emulator = await spawnEmulator(port);
      await sendOne(emulator.connectionString, 'after');
      await waitFor(() => deliveries.length === 2, 15_000, 'delivery after the restart');
      assert.equal(deliveries[1].body, 'after');
      assert.ok(
        host.logs.some((l) => l.startsWith('worker: Service Bus') && l.includes('error')),
        'the outage was logged',
      );
    } finally {
      await host.close();
      await kill(emulator.child, 'SIGTERM');
    }
  });
});

describe('local host: Service Bus configuration errors', () => {
  it('refuses to start when the connection or queue setting is missing, naming it', async () => {
    const { trigger } = queueTrigger('worker', '%TASKS_QUEUE%', async () => undefined);
    await assert.rejects(
      startTestHost({ triggers: [trigger], settings: { TASKS_QUEUE: 'tasks' } }),
      /App setting ServiceBusConnection \(or ServiceBusConnection__fullyQualifiedNamespace\) is missing/,
    );
    await assert.rejects(
      startTestHost({
        triggers: [trigger],
        settings: { ServiceBusConnection: 'Endpoint=sb://127.0.0.1:1;' },
      }),
      /App setting TASKS_QUEUE is missing \(needed for the queue of 'worker'\)/,
    );
  });
});
