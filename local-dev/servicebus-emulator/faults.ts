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

export const entityNotFound = (path: string): ServiceBusFault =>
  new ServiceBusFault('amqp:not-found', `The messaging entity '${path}' could not be found.`, 404);

export const messageTooLarge = (size: number, limit: number): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:link:message-size-exceeded',
    `The received message (size: ${size} bytes) exceeds the limit (${limit} bytes) currently allowed on the link.`,
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
