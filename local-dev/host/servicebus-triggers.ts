import { format } from 'node:util';
import { DefaultAzureCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import type { TriggerMetadata } from '@azure/functions';
import { ResourceFactoryResolver } from '@azure/functions-extensions-base';
import { serviceBusRegistration } from '../../functions/app/servicebus-binding';
import type { ServiceBusTrigger } from '../../functions/app/trigger-types';
import type { ServiceBusHostConfig } from './host-config';
import { InFlight } from './in-flight';
import { serviceBusModelBindingData } from './model-binding-data';
import { settlementService } from './settlement-service';
import {
  describeError,
  logExecuted,
  newInvocationContext,
  withFunctionTimeout,
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
 * Subscribes one receiver per trigger, with the host.json limits (concurrency, lock renewal, function timeout) and
 * the host's settlement (see `dispatch`); the SDK's own auto-complete stays off so a message is settled once. Throws
 * before connecting when a setting is missing.
 */
export async function startServiceBusTriggers(
  triggers: readonly ServiceBusTrigger[],
  settings: AppSettings,
  config: ServiceBusHostConfig,
  log: LogSink,
): Promise<RunningServiceBusTriggers> {
  const planned = triggers.map((trigger) => ({
    trigger,
    queueName: resolveSettingExpression(trigger.queueName, settings, `the queue of '${trigger.name}'`),
    connection: resolveServiceBusConnection(trigger.connection, settings),
  }));

  if (planned.length > 0) await settlementService.open();
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
      // Renewed per invocation instead (`renewWhileRunning`): the SDK would go on renewing a message the handler
      // returned without settling, which the host does not.
      maxAutoLockRenewalDurationInMs: 0,
      // The bytes as they arrived: both bindings are built from them.
      skipParsingBodyAsJson: true,
    });
    receivers.push(receiver);
    subscriptions.push(
      receiver.subscribe(
        {
          processMessage: (message) =>
            inFlight.track(dispatch(trigger, queueName, receiver, message, config, log)),
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
      if (planned.length > 0) settlementService.close();
    },
  };
}

/**
 * One invocation, settled as the Functions host settles it (Azure.Messaging.ServiceBus `ReceiverManager`, which the
 * WebJobs extension drives): a message the handler settled is left alone; a failed invocation's message is abandoned;
 * a successful one is completed only with host.json `autoCompleteMessages`, else its lock simply runs out. An
 * `sdkBinding` handler gets the message through the extension's own factory, from the bytes the host would send,
 * and settles through the host's gRPC `Settlement` service while the invocation runs.
 */
async function dispatch(
  trigger: ServiceBusTrigger,
  queueName: string,
  receiver: ServiceBusReceiver,
  message: ServiceBusReceivedMessage,
  config: ServiceBusHostConfig,
  log: LogSink,
): Promise<void> {
  const registration = serviceBusRegistration(trigger);
  const context = newInvocationContext(
    trigger.name,
    log,
    { type: 'serviceBusTrigger', name: 'message', queueName, connection: trigger.connection },
    triggerMetadata(message),
  );
  const held = settlementService.hold(receiver, message);
  const renewal = renewWhileRunning(
    receiver,
    message,
    config.maxAutoLockRenewalDurationInMs,
    log,
    trigger.name,
  );
  const startedAt = performance.now();
  let failure: unknown;
  try {
    const input = registration.sdkBinding
      ? sdkBindingInput(message, log, trigger.name)
      : standardBindingBody(message);
    await withFunctionTimeout(registration.handler(input, context), config.functionTimeoutMs, trigger.name);
  } catch (error) {
    failure = error ?? new Error('the handler threw');
  } finally {
    renewal.stop();
    held.release();
  }
  logExecuted(log, context, startedAt, failure);
  if (held.settled || (failure === undefined && !config.autoCompleteMessages)) return;
  const what = failure === undefined ? 'complete' : 'abandon';
  try {
    if (what === 'complete') await receiver.completeMessage(message);
    else await receiver.abandonMessage(message);
  } catch (error) {
    log(`${trigger.name}: could not ${what} message ${message.messageId}: ${describeError(error)}`);
  }
}

/** The longest the host renews ahead of a lock's expiry (Azure.Messaging.ServiceBus `MaximumRenewBufferDuration`). */
const MAX_RENEW_BUFFER_MS = 10_000;

/**
 * The host's lock renewal (Azure.Messaging.ServiceBus `ReceiverManager.RenewMessageLock`): while the invocation
 * runs and for at most host.json `maxAutoLockRenewalDuration`, renew a little before the lock runs out (half the time
 * left, at most 10 s ahead); stop at the first error that is not transient.
 */
function renewWhileRunning(
  receiver: ServiceBusReceiver,
  message: ServiceBusReceivedMessage,
  maxDurationMs: number,
  log: LogSink,
  name: string,
): { stop(): void } {
  const until = Date.now() + maxDurationMs;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (lockedUntil: number) => {
    const remaining = lockedUntil - Date.now();
    const delay = remaining < 400 ? 0 : remaining - Math.min(remaining / 2, MAX_RENEW_BUFFER_MS);
    if (stopped || Date.now() + delay >= until) return;
    timer = setTimeout(() => {
      receiver.renewMessageLock(message).then(
        (next) => schedule(next.getTime()),
        (error: unknown) => {
          if (stopped) return;
          log(`${name}: could not renew the lock of message ${message.messageId}: ${describeError(error)}`);
          if ((error as { retryable?: boolean }).retryable) schedule(Date.now() + 2 * MAX_RENEW_BUFFER_MS);
        },
      );
    }, delay);
  };
  schedule(message.lockedUntilUtc?.getTime() ?? Date.now());
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * What `@azure/functions` passes an `sdkBinding` handler: the extension's factory applied to the host's data. The
 * preview extension's decoding makes rhea warn once per message (docs/local-development.md); on Azure the worker's
 * console output lands in the host's log, so here it goes to the local host's log too, not to the terminal.
 */
function sdkBindingInput(message: ServiceBusReceivedMessage, log: LogSink, name: string): unknown {
  const data = serviceBusModelBindingData(message);
  const warn = console.warn;
  console.warn = (...args: unknown[]) => log(`${name}: [warning] ${format(...args)}`);
  try {
    return ResourceFactoryResolver.getInstance().createClient(data.source, data);
  } finally {
    console.warn = warn;
  }
}

/** The standard binding's body: text, parsed when it is JSON (`@azure/functions` does the same with the host's string). */
function standardBindingBody(message: ServiceBusReceivedMessage): unknown {
  const body: unknown = message.body;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
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
