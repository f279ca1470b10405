/**
 * The part of `@azure/functions-extensions-servicebus` (0.2.0-preview) the app uses. tsconfig maps the package here
 * because its own declarations import the package's TypeScript sources, which do not compile under this project's
 * strict settings; the package test and the settlement tests run the real package against this shape.
 */
import type { ServiceBusReceivedMessage } from '@azure/service-bus';

/** Settlement calls, sent to the Functions host over gRPC (its `Settlement` service). */
export interface ServiceBusMessageActions {
  complete(message: ServiceBusReceivedMessage): Promise<void>;
  abandon(message: ServiceBusReceivedMessage, propertiesToModify?: Uint8Array): Promise<void>;
  deadletter(
    message: ServiceBusReceivedMessage,
    propertiesToModify?: Uint8Array,
    deadletterReason?: string,
    deadletterErrorDescription?: string,
  ): Promise<void>;
  defer(message: ServiceBusReceivedMessage, propertiesToModify?: Uint8Array): Promise<void>;
  renewMessageLock(message: ServiceBusReceivedMessage): Promise<void>;
}

/** What an `sdkBinding: true` trigger's handler receives in place of the message body. */
export interface ServiceBusMessageContext {
  messages: ServiceBusReceivedMessage | ServiceBusReceivedMessage[];
  actions: ServiceBusMessageActions;
}
