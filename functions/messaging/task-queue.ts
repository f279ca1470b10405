import type { ServiceBusClient, ServiceBusSender } from '@azure/service-bus';

export interface SendOptions {
  /**
   * The task's trace (its submit span), sent as `traceparent` and as `Diagnostic-Id` (what Azure's Service Bus tracing
   * reads), so the worker's spans join the task's one trace.
   */
  traceparent?: string | null;
  /** Deliver later (retries with backoff). */
  scheduledAt?: Date;
  /** Service Bus drops a message whose id it saw within its duplicate-detection window (engine/dispatch.ts). */
  messageId: string;
  /**
   * Give up after this long (the SDK's own try time-out is a minute, retried): for a caller that has a fallback, such
   * as a submit whose task the sweeper sends if this send does not.
   */
  timeoutMs?: number;
}

/** The sender of the tasks queue. */
export class TaskQueue {
  private readonly sender: ServiceBusSender;

  constructor(client: ServiceBusClient, queueName: string) {
    this.sender = client.createSender(queueName);
  }

  /** Sends one small JSON message; which message and which id is the engine's business (engine/dispatch.ts). */
  async send(body: object, options: SendOptions): Promise<void> {
    await this.sender.sendMessages(
      {
        body,
        contentType: 'application/json',
        messageId: options.messageId,
        applicationProperties: options.traceparent
          ? { traceparent: options.traceparent, 'Diagnostic-Id': options.traceparent }
          : undefined,
        scheduledEnqueueTimeUtc: options.scheduledAt,
      },
      options.timeoutMs === undefined ? undefined : { abortSignal: AbortSignal.timeout(options.timeoutMs) },
    );
  }

  /** Opens the sender link if needed: proves the namespace, the queue and the credentials. */
  async ping(): Promise<void> {
    await this.sender.createMessageBatch();
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}
