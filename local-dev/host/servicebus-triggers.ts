import { DefaultAzureCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import type { TriggerMetadata } from '@azure/functions';
import type { ServiceBusMessageActions, ServiceBusTrigger } from '../../functions/trigger-types';
import type { ServiceBusHostConfig } from './host-config';
import { InFlight } from './in-flight';
import {
  describeError,
  logExecuted,
  newInvocationContext,
  SHUTDOWN_GRACE_MS,
  type LogSink,
} from './invocation';
import {
  resolveServiceBusConnection,
  resolveSettingExpression,
  type AppSettings,
  type ServiceBusConnection,
} from './settings';

/** While Service Bus is down the SDK retries about every second; the same error is logged at most this often. */
const ERROR_REPEAT_MS = 30_000;

export interface RunningServiceBusTriggers {
  close(): Promise<void>;
}

/**
 * Subscribes one receiver per trigger. Settlement follows the Functions host: complete after success (when
 * `autoCompleteMessages`), abandon after a throw; with `sdkBinding` the handler settles through `actions`, and a
 * message it leaves unsettled is abandoned. The SDK's own auto-complete stays off so a message is settled once.
 * Throws before connecting when a setting is missing.
 */
export function startServiceBusTriggers(
  triggers: readonly ServiceBusTrigger[],
  settings: AppSettings,
  config: ServiceBusHostConfig,
  log: LogSink,
): RunningServiceBusTriggers {
  const planned = triggers.map((trigger) => ({
    trigger,
    queueName: resolveSettingExpression(trigger.queueName, settings, `the queue of '${trigger.name}'`),
    connection: resolveServiceBusConnection(trigger.connection, settings),
  }));

  const clients = new Map<string, ServiceBusClient>();
  const clientFor = (name: string, connection: ServiceBusConnection): ServiceBusClient => {
    let client = clients.get(name);
    if (!client) {
      const options = { retryOptions: config.retryOptions };
      client =
        connection.kind === 'connectionString'
          ? new ServiceBusClient(connection.connectionString, options)
          : new ServiceBusClient(
              connection.fullyQualifiedNamespace,
              new DefaultAzureCredential({ managedIdentityClientId: connection.clientId }),
              options,
            );
      clients.set(name, client);
    }
    return client;
  };

  const inFlight = new InFlight();
  const reportError = oncePer(ERROR_REPEAT_MS, log);
  const receivers: ServiceBusReceiver[] = [];
  const subscriptions: { close(): Promise<void> }[] = [];
  for (const { trigger, queueName, connection } of planned) {
    const receiver = clientFor(trigger.connection, connection).createReceiver(queueName, {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: config.maxAutoLockRenewalDurationInMs,
    });
    receivers.push(receiver);
    subscriptions.push(
      receiver.subscribe(
        {
          processMessage: (message) =>
            inFlight.track(dispatch(trigger, queueName, receiver, message, config.autoCompleteMessages, log)),
          processError: async (args) => {
            // The SDK keeps the subscription alive and reconnects by itself; this only reports.
            reportError(
              `${trigger.name}: Service Bus ${args.errorSource} error on '${queueName}': ${args.error.message}`,
            );
          },
        },
        { maxConcurrentCalls: config.maxConcurrentCalls, autoCompleteMessages: false },
      ),
    );
  }

  return {
    close: async () => {
      await Promise.all(subscriptions.map((s) => s.close().catch(() => undefined)));
      if (!(await inFlight.drain(SHUTDOWN_GRACE_MS))) {
        log(
          `Service Bus: ${inFlight.size} message(s) still running after ${SHUTDOWN_GRACE_MS} ms; their locks will expire`,
        );
      }
      await Promise.all(receivers.map((r) => r.close().catch(() => undefined)));
      await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
    },
  };
}

async function dispatch(
  trigger: ServiceBusTrigger,
  queueName: string,
  receiver: ServiceBusReceiver,
  message: ServiceBusReceivedMessage,
  autoComplete: boolean,
  log: LogSink,
): Promise<void> {
  const context = newInvocationContext(
    trigger.name,
    log,
    { type: 'serviceBusTrigger', name: 'message', queueName, connection: trigger.connection },
    triggerMetadata(message),
  );
  let settled = false;
  const actions: ServiceBusMessageActions | undefined = trigger.sdkBinding
    ? messageActions(receiver, message, () => (settled = true))
    : undefined;
  const startedAt = performance.now();
  let failed = false;
  try {
    await trigger.handler(message.body, context, actions);
    logExecuted(log, context, startedAt);
  } catch (error) {
    failed = true;
    logExecuted(log, context, startedAt, error);
  }
  if (settled) return;
  // A throw, or an sdkBinding handler that settled nothing, gives the message back for redelivery.
  const abandon = failed || trigger.sdkBinding === true;
  if (!abandon && !autoComplete) return;
  try {
    if (abandon) await receiver.abandonMessage(message);
    else await receiver.completeMessage(message);
  } catch (error) {
    const what = abandon ? 'abandon' : 'complete';
    log(`${trigger.name}: could not ${what} message ${message.messageId}: ${describeError(error)}`);
  }
}

/** A log that drops a line it already wrote within the last `ms`. */
function oncePer(ms: number, log: LogSink): LogSink {
  const lastWritten = new Map<string, number>();
  return (line) => {
    const now = Date.now();
    if (now - (lastWritten.get(line) ?? -Infinity) < ms) return;
    lastWritten.set(line, now);
    log(line);
  };
}

/** Settlement for `sdkBinding` handlers, through the receiver that holds the lock. */
function messageActions(
  receiver: ServiceBusReceiver,
  message: ServiceBusReceivedMessage,
  markSettled: () => void,
): ServiceBusMessageActions {
  return {
    complete: async () => {
      markSettled();
      await receiver.completeMessage(message);
    },
    abandon: async (propertiesToModify) => {
      markSettled();
      // The SDK types property values narrowly; Service Bus itself rejects what it cannot store.
      await receiver.abandonMessage(
        message,
        propertiesToModify as Parameters<ServiceBusReceiver['abandonMessage']>[1],
      );
    },
    deadLetter: async (reason, description) => {
      markSettled();
      // The SDK's type wants a description, but the service (and the SDK) accept none.
      const options = {
        deadLetterReason: reason,
        ...(description === undefined ? {} : { deadLetterErrorDescription: description }),
      };
      await receiver.deadLetterMessage(
        message,
        options as Parameters<ServiceBusReceiver['deadLetterMessage']>[1],
      );
    },
    renewLock: () => receiver.renewMessageLock(message),
  };
}

/**
 * The trigger metadata the Functions host passes for a Service Bus message. The host reads messages with the .NET
 * client, which counts deliveries from 1 (the AMQP header counts earlier attempts, from 0, as the JS SDK shows it).
 */
function triggerMetadata(message: ServiceBusReceivedMessage): TriggerMetadata {
  const iso = (date: Date | undefined): string | undefined => date?.toISOString();
  const applicationProperties = message.applicationProperties ?? {};
  return {
    messageId: message.messageId,
    deliveryCount: (message.deliveryCount ?? 0) + 1,
    sequenceNumber: message.sequenceNumber?.toNumber(),
    enqueuedTimeUtc: iso(message.enqueuedTimeUtc),
    lockedUntilUtc: iso(message.lockedUntilUtc),
    expiresAtUtc: iso(message.expiresAtUtc),
    applicationProperties,
    userProperties: applicationProperties,
    correlationId: message.correlationId,
    contentType: message.contentType,
    subject: message.subject,
    replyTo: message.replyTo,
    to: message.to,
    lockToken: message.lockToken,
  };
}
