import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import {
  startServiceBusEmulator,
  type ServiceBusEmulator,
  type ServiceBusEmulatorOptions,
} from '../../../local-dev/servicebus-emulator';

export interface Harness {
  emulator: ServiceBusEmulator;
  client: ServiceBusClient;
  close(): Promise<void>;
}

/** Starts an emulator (on a free port unless `options` names one) with the given queues (Config.json `Properties` each) and an SDK client. */
export async function startHarness(
  queues: Record<string, Record<string, unknown>>,
  options: Omit<ServiceBusEmulatorOptions, 'config'> = {},
): Promise<Harness> {
  const emulator = await startServiceBusEmulator({
    ...options,
    config: {
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: Object.entries(queues).map(([Name, Properties]) => ({ Name, Properties })),
          },
        ],
      },
    },
  });
  const client = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 10_000 },
  });
  return {
    emulator,
    client,
    close: async () => {
      await client.close();
      await emulator.close();
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Receives until `count` messages arrived or `timeoutMs` passed. */
export async function receiveCount(
  receiver: ServiceBusReceiver,
  count: number,
  timeoutMs = 3_000,
): Promise<ServiceBusReceivedMessage[]> {
  const got: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const batch = await receiver.receiveMessages(count - got.length, {
      maxWaitTimeInMs: Math.max(50, deadline - Date.now()),
    });
    got.push(...batch);
  }
  return got;
}
