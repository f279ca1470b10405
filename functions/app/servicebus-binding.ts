// Registers the extension's message factory, through which `@azure/functions` turns an `sdkBinding` trigger's input
// (the host's model binding data) into a ServiceBusMessageContext.
import '@azure/functions-extensions-servicebus';
import type { InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { types } from 'rhea';
import type { Writer } from 'rhea/typings/types';
import type { ServiceBusDelivery, ServiceBusMessageActions, ServiceBusTrigger } from './trigger-types';

/** The options `app.serviceBusQueue` gets for a trigger. The local host runs exactly these too. */
export interface ServiceBusRegistration {
  connection: string;
  queueName: string;
  sdkBinding: boolean;
  handler: (input: unknown, context: InvocationContext) => Promise<void>;
}

export function serviceBusRegistration(trigger: ServiceBusTrigger): ServiceBusRegistration {
  const sdkBinding = trigger.sdkBinding === true;
  return {
    connection: trigger.connection,
    queueName: trigger.queueName,
    sdkBinding,
    handler: sdkBinding
      ? (input, context) => trigger.handler(fromSdkBinding(input as ServiceBusMessageContext), context)
      : (body, context) => trigger.handler(fromStandardBinding(body, context), context),
  };
}

/** The standard binding: the body (JSON already parsed by the worker), the rest from the trigger metadata. */
function fromStandardBinding(body: unknown, context: InvocationContext): ServiceBusDelivery {
  const metadata = context.triggerMetadata ?? {};
  const properties = metadata.applicationProperties;
  return {
    body,
    messageId: typeof metadata.messageId === 'string' ? metadata.messageId : undefined,
    applicationProperties:
      typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>) : {},
  };
}

function fromSdkBinding({ messages, actions }: ServiceBusMessageContext): ServiceBusDelivery {
  // The trigger is registered with the default cardinality, one message per invocation.
  if (Array.isArray(messages)) throw new Error('expected one Service Bus message, got a batch');
  const message = messages;
  return {
    body: bodyOf(message),
    messageId: message.messageId === undefined ? undefined : String(message.messageId),
    applicationProperties: message.applicationProperties ?? {},
    actions: settlementActions(actions, message),
  };
}

/**
 * The extension's body: 0.2.0-preview parses `application/json` and decodes other text; from 0.4.0 it is the raw
 * bytes. Bytes become text here, so that the handler sees the same either way.
 */
function bodyOf(message: ServiceBusReceivedMessage): unknown {
  const body: unknown = message.body;
  return body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body;
}

/**
 * A protobuf `StringValue`, as the host's `Settlement.Deadletter` expects the reason and description. The extension
 * (0.2.0-preview) types them as strings but passes them to protobufjs unchanged, which refuses a string for a message
 * field ("deadletterReason: object expected"): only the wrapper object reaches the host. The settlement tests run
 * this through the real extension, so a version that wraps strings itself fails them.
 */
function stringValue(value: string): string {
  return { value } as unknown as string;
}

/** rhea's encoder; its typings declare the class but leave it off `types`, where it lives at run time. */
const AmqpWriter = (types as unknown as { Writer: typeof Writer }).Writer;

/** Properties to modify, as the host decodes them: an AMQP map. */
function amqpMap(properties: Record<string, unknown>): Uint8Array {
  const writer = new AmqpWriter();
  writer.write(types.wrap_map(properties));
  return writer.toBuffer();
}

function settlementActions(
  actions: ServiceBusMessageContext['actions'],
  message: ServiceBusReceivedMessage,
): ServiceBusMessageActions {
  return {
    complete: () => actions.complete(message),
    abandon: (properties) => actions.abandon(message, properties && amqpMap(properties)),
    deadLetter: (reason, description) =>
      actions.deadletter(
        message,
        undefined,
        stringValue(reason),
        description === undefined ? undefined : stringValue(description),
      ),
    renewLock: () => actions.renewMessageLock(message),
  };
}
