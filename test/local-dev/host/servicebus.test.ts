import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../local-dev/servicebus-emulator';
import type {
  ServiceBusDelivery,
  ServiceBusMessageActions,
  ServiceBusTrigger,
} from '../../../functions/app/trigger-types';
import { sleep, startTestHost, TEST_HOST_JSON, waitFor, type TestHost } from './helpers';

const QUEUES = ['meta', 'retry', 'dlq', 'sdk-throws', 'sdk-returns', 'late', 'props', 'busy'];
const emulatorConfig = {
  UserConfig: {
    Namespaces: [
      {
        Name: 'sbemulatorns',
        Queues: [
          ...QUEUES.map((Name) => ({ Name, Properties: {} })),
          // The shortest lock Service Bus allows: what happens when nobody settles shows within seconds.
          { Name: 'lock-expiry', Properties: { LockDuration: 'PT5S' } },
          { Name: 'timeout', Properties: { LockDuration: 'PT5S' } },
          { Name: 'renew', Properties: { LockDuration: 'PT5S' } },
        ],
      },
    ],
  },
};

interface Delivery {
  delivery: ServiceBusDelivery;
  context: InvocationContext;
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
    handler: async (delivery, context) => {
      const d = { delivery, context };
      deliveries.push(d);
      await handler(d, deliveries);
    },
  };
  return { trigger, deliveries };
}

const metadata = (d: Delivery): Record<string, unknown> => d.context.triggerMetadata ?? {};
const actions = (d: Delivery): ServiceBusMessageActions => {
  assert.ok(d.delivery.actions, 'an sdkBinding handler gets settlement actions');
  return d.delivery.actions;
};

async function deadLettered(client: ServiceBusClient, queue: string) {
  const receiver = client.createReceiver(queue, {
    subQueueType: 'deadLetter',
    receiveMode: 'receiveAndDelete',
  });
  try {
    return await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
  } finally {
    await receiver.close();
  }
}

describe('local host: Service Bus triggers', () => {
  let emulator: ServiceBusEmulator;
  let client: ServiceBusClient;
  let host: TestHost;
  let active = 0;
  let maxActive = 0;
  let lateSettlement: Promise<unknown> | undefined;

  const meta = queueTrigger('meta', '%META_QUEUE%', async () => undefined);
  const retry = queueTrigger('retry', 'retry', async (_d, all) => {
    if (all.length === 1) throw new Error('first attempt fails');
  });
  const dlq = queueTrigger(
    'dlq',
    'dlq',
    async (d) => actions(d).deadLetter('bad-input', 'steps must be positive'),
    true,
  );
  const sdkThrows = queueTrigger(
    'sdkThrows',
    'sdk-throws',
    async (d, all) => {
      if (all.length === 1) throw new Error('unsettled and failed');
      await actions(d).complete();
    },
    true,
  );
  const sdkReturns = queueTrigger('sdkReturns', 'sdk-returns', async () => undefined, true);
  const late = queueTrigger(
    'late',
    'late',
    async (d) => {
      // Settles after the invocation ended: the host no longer holds the message.
      lateSettlement = sleep(50).then(() => actions(d).complete());
    },
    true,
  );
  const props = queueTrigger(
    'props',
    'props',
    async (d, all) => {
      if (all.length === 1) await actions(d).abandon({ reason: 'try later', attempt: 2 });
      else await actions(d).complete();
    },
    true,
  );
  const renewed = queueTrigger(
    'renewed',
    'renew',
    async (d) => {
      await sleep(6_000);
      await actions(d).complete();
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
      triggers: [meta, retry, dlq, sdkThrows, sdkReturns, late, props, renewed, busy].map((q) => q.trigger),
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
    assert.deepEqual(d.delivery.body, { taskId: 't-1', slice: 0 });
    assert.equal(d.delivery.actions, undefined, 'no settlement actions without sdkBinding');
    assert.equal(d.delivery.messageId, 't-1:0');
    assert.deepEqual(d.delivery.applicationProperties, { traceparent: '00-abc-def-01' });
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

  it('hands an sdkBinding handler the message the extension decodes from the host’s bytes', async () => {
    await send('dlq', {
      body: { steps: -1 },
      contentType: 'application/json',
      messageId: 'd-1',
      applicationProperties: { traceparent: '00-abc-def-01' },
    });
    await waitFor(() => dlq.deliveries.length === 1, 5_000, 'message delivered');
    const [d] = dlq.deliveries;
    assert.deepEqual(d.delivery.body, { steps: -1 }, 'application/json is parsed by the extension');
    assert.equal(d.delivery.messageId, 'd-1');
    assert.deepEqual(d.delivery.applicationProperties, { traceparent: '00-abc-def-01' });
  });

  it('lets an sdkBinding handler dead-letter the message with a reason and description, through the host', async () => {
    await waitFor(() => dlq.deliveries.length >= 1, 5_000, 'message delivered');
    const [dead] = await deadLettered(client, 'dlq');
    assert.equal(dead?.messageId, 'd-1');
    assert.equal(dead.deadLetterReason, 'bad-input');
    assert.equal(dead.deadLetterErrorDescription, 'steps must be positive');
    await sleep(200);
    assert.equal(dlq.deliveries.length, 1, 'not delivered again');
  });

  it('abandons the message of an sdkBinding handler that threw without settling it', async () => {
    await send('sdk-throws', { body: 'x', messageId: 'st-1' });
    await waitFor(() => sdkThrows.deliveries.length === 2, 5_000, 'redelivery');
    assert.deepEqual(
      sdkThrows.deliveries.map((d) => metadata(d).deliveryCount),
      [1, 2],
    );
    await waitFor(() => queueSize('sdk-throws') === 0, 5_000, 'completed by the handler');
  });

  it('completes what an sdkBinding handler left unsettled when host.json autoCompleteMessages is true', async () => {
    await send('sdk-returns', { body: 'x', messageId: 'sr-1' });
    await waitFor(() => queueSize('sdk-returns') === 0, 5_000, 'completed by the host');
    assert.equal(sdkReturns.deliveries.length, 1);
  });

  it('refuses settlement once the invocation has ended, as the host does (FAILED_PRECONDITION)', async () => {
    await send('late', { body: 'x', messageId: 'l-1' });
    await waitFor(() => lateSettlement !== undefined, 5_000, 'message delivered');
    await assert.rejects(lateSettlement!, (error: Error & { code?: number; details?: string }) => {
      assert.equal(error.code, 9, 'gRPC FAILED_PRECONDITION');
      assert.match(String(error.details), /^LockToken [0-9a-f-]{36} not found\.$/);
      return true;
    });
  });

  it('abandons with the properties an sdkBinding handler asks to modify', async () => {
    await send('props', { body: 'x', messageId: 'p-1', applicationProperties: { reason: 'first' } });
    await waitFor(() => props.deliveries.length === 2, 5_000, 'redelivery');
    assert.deepEqual(props.deliveries[1].delivery.applicationProperties, { reason: 'try later', attempt: 2 });
    await waitFor(() => queueSize('props') === 0, 5_000, 'completed');
  });

  it('renews the lock while the invocation runs, so a handler longer than the lock still settles', async () => {
    await send('renew', { body: 'x', messageId: 'rn-1' });
    await waitFor(() => queueSize('renew') === 0, 10_000, 'completed after 6 s under a 5 s lock');
    assert.equal(renewed.deliveries.length, 1, 'never redelivered');
    assert.ok(!host.logs.some((l) => l.startsWith("Executed 'renewed' (Failed")));
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

describe('local host: Service Bus settlement as host.json sets it', () => {
  let emulator: ServiceBusEmulator;
  let client: ServiceBusClient;
  let host: TestHost;
  let timedOutSettlement: Promise<unknown> | undefined;

  const unsettled = queueTrigger(
    'unsettled',
    'lock-expiry',
    async (d, all) => {
      if (all.length > 1) await actions(d).complete();
    },
    true,
  );
  const slow = queueTrigger(
    'slow',
    'timeout',
    async (d, all) => {
      if (all.length > 1) return actions(d).complete();
      await sleep(1_500);
      timedOutSettlement = actions(d).complete();
      await timedOutSettlement.catch(() => undefined);
    },
    true,
  );

  before(async () => {
    emulator = await startServiceBusEmulator({ config: emulatorConfig, log: () => undefined });
    client = new ServiceBusClient(emulator.connectionString);
    host = await startTestHost({
      triggers: [unsettled.trigger, slow.trigger],
      settings: { ServiceBusConnection: emulator.connectionString },
      hostJson: {
        ...TEST_HOST_JSON,
        functionTimeout: '00:00:01',
        extensions: {
          ...TEST_HOST_JSON.extensions,
          serviceBus: { ...TEST_HOST_JSON.extensions.serviceBus, autoCompleteMessages: false },
        },
      },
    });
  });
  after(async () => {
    await host.close();
    await client.close();
    await emulator.close();
  });

  it('leaves a message the handler did not settle until its lock expires (autoCompleteMessages false)', async () => {
    const sentAt = Date.now();
    await client.createSender('lock-expiry').sendMessages({ body: 'x', messageId: 'le-1' });
    await waitFor(() => unsettled.deliveries.length === 2, 15_000, 'redelivery after the lock expired');
    const secondAt = Date.parse(String(metadata(unsettled.deliveries[1]).lockedUntilUtc)) - 5_000;
    assert.ok(
      secondAt - sentAt >= 4_500,
      `redelivered after the 5 s lock, not abandoned (${secondAt - sentAt} ms)`,
    );
    assert.equal(metadata(unsettled.deliveries[1]).deliveryCount, 2);
  });

  it('fails an invocation that outlives host.json functionTimeout and abandons its message', async () => {
    await client.createSender('timeout').sendMessages({ body: 'x', messageId: 't-1' });
    await waitFor(() => slow.deliveries.length === 2, 10_000, 'redelivery after the timeout');
    assert.ok(
      host.logs.some((l) => l.includes("Timeout value of 00:00:01 exceeded by function 'slow'")),
      'the timeout is logged as the host logs it',
    );
    await waitFor(() => timedOutSettlement !== undefined, 5_000, 'the late handler tried to settle');
    await assert.rejects(timedOutSettlement!, /not found/);
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
      assert.equal(deliveries[1].delivery.body, 'after');
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
