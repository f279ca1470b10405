import { randomUUID } from 'node:crypto';

/** An error the emulator reports to a client with the AMQP condition Azure Service Bus uses for it. */
export class ServiceBusFault extends Error {
  constructor(
    readonly condition: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ServiceBusFault';
  }
}

export const lockLost = (lockToken: string): ServiceBusFault =>
  new ServiceBusFault(
    'com.microsoft:message-lock-lost',
    `The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue. Lock token: ${lockToken}`,
    410,
  );

export const messageNotFound = (what: string): ServiceBusFault =>
  new ServiceBusFault('com.microsoft:message-not-found', `Message not found: ${what}`, 404);

/** Azure's text, e.g. "The messaging entity 'sb://ns.servicebus.windows.net/orders' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.  TrackingId:…" (as quoted in client logs). */
export const entityNotFound = (host: string, path: string): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:not-found',
    `The messaging entity 'sb://${host}/${path.replace(/^\/+/, '')}' could not be found. ` +
      `To know more visit https://aka.ms/sbResourceMgrExceptions.  TrackingId:${randomUUID()}, ` +
      `SystemTracker:${host}:${path}, Timestamp:${new Date().toISOString()}`,
    404,
  );

export const messageTooLarge = (size: number, limit: number): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:link:message-size-exceeded',
    `The received message (size: ${size} bytes) exceeds the limit (${limit} bytes) currently allowed on the link.`,
    413,
  );

/** Azure rejects an oversized header with a SerializationException; this reports it with the size condition. */
export const headerTooLarge = (what: string, limit: number): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:link:message-size-exceeded',
    `The message header is too large: ${what}, and the limit is ${limit} bytes.`,
    413,
  );

export const badRequest = (message: string): ServiceBusFault =>
  new ServiceBusFault('amqp:invalid-field', message, 400);

export const notImplemented = (operation: string): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:not-implemented',
    `Operation '${operation}' is not supported by the emulator.`,
    501,
  );

export function asFault(err: unknown): ServiceBusFault {
  return err instanceof ServiceBusFault
    ? err
    : new ServiceBusFault('amqp:internal-error', 'The emulator failed to process the request.', 500);
}
