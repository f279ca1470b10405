import type { ServiceBusClient, ServiceBusSender } from '@azure/service-bus';

/** The small message that tells a worker to run one slice of a task (the payload stays in Blob). */
export interface TaskMessage {
  taskId: string;
  slice: number;
  /** 1 for the first attempt; a retry after a transient failure is attempt + 1. */
  attempt?: number;
}

/** Tells a worker to make delivery `attempt` of an ended task's completion webhook. */
export interface WebhookMessage {
  taskId: string;
  webhook: number;
}

export interface SendOptions {
  /**
   * The task's trace (its submit span), sent as `traceparent` and as `Diagnostic-Id` (what Azure's Service Bus tracing
   * reads), so the worker's spans join the task's one trace.
   */
  traceparent?: string | null;
  /** Deliver later (retries with backoff). */
  scheduledAt?: Date;
  /**
   * Default `{taskId}:{slice}` (or `{taskId}:webhook:{attempt}`), so a re-send of the same slice or delivery is
   * dropped by duplicate detection.
   */
  messageId?: string;
  /**
   * Give up after this long (the SDK's own try time-out is a minute, retried): for a caller that has a fallback, such
   * as a submit whose task the sweeper sends if this send does not.
   */
  timeoutMs?: number;
}

export class TaskQueue {
  private readonly sender: ServiceBusSender;

  constructor(client: ServiceBusClient, queueName: string) {
    this.sender = client.createSender(queueName);
  }

  /** The message id is task + slice, so Service Bus duplicate detection drops a re-send of the same slice. */
  async send(message: TaskMessage | WebhookMessage, options: SendOptions = {}): Promise<void> {
    const defaultId =
      'webhook' in message
        ? `${message.taskId}:webhook:${message.webhook}`
        : `${message.taskId}:${message.slice}`;
    await this.sender.sendMessages(
      {
        body: message,
        contentType: 'application/json',
        messageId: options.messageId ?? defaultId,
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
