import { AmqpAnnotatedMessage } from '@azure/core-amqp';
import type { ModelBindingData } from '@azure/functions-extensions-base';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { message as amqp, types } from 'rhea';

/** The binding source the Service Bus extension registers its message factory under. */
export const SERVICE_BUS_BINDING_SOURCE = 'AzureServiceBusReceivedMessage';

/**
 * A received message as the Functions host passes it to a worker with deferred (SDK-type) binding: the lock token's
 * 16 bytes in .NET `Guid.ToByteArray()` order, then the message's raw AMQP bytes (WebJobs Service Bus extension;
 * Microsoft.Azure.Functions.Worker.Extensions.ServiceBus tests build the same layout). The AMQP bytes are the
 * message as the broker delivered it, which carries the lock token again as the `x-opt-lock-token` delivery
 * annotation (Service Bus AMQP docs: "may also appear in DeliveryAnnotations"); the Node extension finds the message
 * by that name, and so loses the header before it: `deliveryCount` reads 0 on Azure too.
 */
export function serviceBusModelBindingData(message: ServiceBusReceivedMessage): ModelBindingData {
  if (!message.lockToken) throw new Error('a peek-locked message has a lock token');
  return {
    version: '1.0',
    source: SERVICE_BUS_BINDING_SOURCE,
    contentType: 'application/octet-stream',
    content: Buffer.concat([guidBytes(message.lockToken), amqpBytes(message, message.lockToken)]),
  };
}

/** .NET's `Guid.ToByteArray()`: the first three groups little-endian, the rest as written. */
function guidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  const group = (from: number, to: number) => Buffer.from(hex.slice(from, to), 'hex');
  return Buffer.concat([
    group(0, 8).reverse(),
    group(8, 12).reverse(),
    group(12, 16).reverse(),
    group(16, 32),
  ]);
}

function amqpBytes(message: ServiceBusReceivedMessage, lockToken: string): Buffer {
  const raw = message._rawAmqpMessage;
  const annotations = { ...raw.messageAnnotations };
  // The SDK unwraps these to numbers; the broker sends them typed.
  for (const name of ['x-opt-enqueued-time', 'x-opt-locked-until', 'x-opt-scheduled-enqueue-time']) {
    if (typeof annotations[name] === 'number') annotations[name] = new Date(annotations[name]);
  }
  if (typeof annotations['x-opt-sequence-number'] === 'number') {
    annotations['x-opt-sequence-number'] = types.wrap_long(annotations['x-opt-sequence-number']);
  }
  return amqp.encode({
    ...AmqpAnnotatedMessage.toRheaMessage(raw),
    delivery_annotations: {
      ...raw.deliveryAnnotations,
      'x-opt-lock-token': types.wrap_uuid(Buffer.from(lockToken.replace(/-/g, ''), 'hex')),
    },
    message_annotations: annotations,
  });
}
