import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

/** Messages one peek asks for: the most a management request returns comfortably. */
const PEEK_PAGE = 250;
/** Messages one receive asks for while looking for a dead letter to remove. */
const RECEIVE_PAGE = 50;
const RECEIVE_WAIT_MS = 1_000;

/** The tasks queue counted by peeking (the emulator has no management REST API, so no runtime properties). */
export interface QueueCounts {
  active: number;
  scheduled: number;
  deferred: number;
  deadLetter: number;
  /** Whether a count stopped at `limit`: the real number is at least that. */
  truncated: boolean;
  limit: number;
}

export interface DeadLetter {
  /** A string: sequence numbers are 64-bit. */
  sequenceNumber: string;
  messageId: string | null;
  body: unknown;
  reason: string | null;
  description: string | null;
  /** When the message entered the dead-letter queue. */
  enqueuedAt: Date | null;
  deliveryCount: number;
  deadLetterSource: string | null;
}

export type RemoveOutcome = 'removed' | 'notFound' | 'locked';

/**
 * Read and repair access to the tasks queue and its dead-letter sub-queue, for operators: counts, peeked dead
 * letters, and removing one dead letter by sequence number. Every operation opens a client of its own: the SDK
 * remembers where the last peek of an entity ended per client (peeks go on from there), and starting from a given
 * sequence number instead would need the `long` package, which is not a dependency of the app.
 */
export class QueueInspector {
  constructor(
    private readonly connect: () => ServiceBusClient,
    private readonly queueName: string,
  ) {}

  /** Counts each state by peeking, up to `limit` messages per queue. */
  async count(limit: number): Promise<QueueCounts> {
    const counts: QueueCounts = {
      active: 0,
      scheduled: 0,
      deferred: 0,
      deadLetter: 0,
      truncated: false,
      limit,
    };
    await this.withReceiver(false, async (receiver) => {
      const seen = await this.peekAll(receiver, limit, (m) => {
        if (m.state === 'scheduled') counts.scheduled++;
        else if (m.state === 'deferred') counts.deferred++;
        else counts.active++;
        return false;
      });
      counts.truncated ||= seen >= limit;
    });
    await this.withReceiver(true, async (receiver) => {
      counts.deadLetter = await this.peekAll(receiver, limit, () => false);
      counts.truncated ||= counts.deadLetter >= limit;
    });
    return counts;
  }

  /** The oldest `limit` dead letters, with bodies, without locking them. */
  async peekDeadLetters(limit: number): Promise<DeadLetter[]> {
    return this.withReceiver(true, async (receiver) =>
      (await receiver.peekMessages(limit)).map(deadLetterOf),
    );
  }

  /**
   * Removes one dead letter. Service Bus settles only what a receiver holds, so the messages before it are received
   * in peek-lock and held (so they are not handed out again) until it is found and completed; then they are
   * abandoned, back as they were. A peek first answers `notFound` without locking anything; `locked` means another
   * receiver holds it now. At most `limit` messages are peeked and locked on the way: one further back is not found.
   */
  async removeDeadLetter(sequenceNumber: string, limit: number): Promise<RemoveOutcome> {
    return this.withReceiver(true, async (receiver) => {
      let exists = false;
      // No stopping early at a higher number: on Azure a dead letter keeps the sequence number it had in the queue,
      // so the dead-letter queue's order need not follow the numbers.
      await this.peekAll(receiver, limit, (m) => (exists = m.sequenceNumber?.toString() === sequenceNumber));
      if (!exists) return 'notFound';
      const held: ServiceBusReceivedMessage[] = [];
      try {
        while (held.length < limit) {
          const page = await receiver.receiveMessages(Math.min(RECEIVE_PAGE, limit - held.length), {
            maxWaitTimeInMs: RECEIVE_WAIT_MS,
          });
          if (page.length === 0) return 'locked';
          const target = page.find((m) => m.sequenceNumber?.toString() === sequenceNumber);
          held.push(...page.filter((m) => m !== target));
          if (target) {
            await receiver.completeMessage(target);
            return 'removed';
          }
        }
        return 'locked';
      } finally {
        await Promise.allSettled(held.map((m) => receiver.abandonMessage(m)));
      }
    });
  }

  /** Peeks page by page until `stop` says so or `limit` messages were seen; returns how many were seen. */
  private async peekAll(
    receiver: ServiceBusReceiver,
    limit: number,
    stop: (m: ServiceBusReceivedMessage) => boolean,
  ): Promise<number> {
    let seen = 0;
    while (seen < limit) {
      const page = await receiver.peekMessages(Math.min(PEEK_PAGE, limit - seen));
      for (const m of page) {
        seen++;
        if (stop(m)) return seen;
      }
      if (page.length === 0) return seen;
    }
    return seen;
  }

  private async withReceiver<T>(deadLetter: boolean, fn: (r: ServiceBusReceiver) => Promise<T>): Promise<T> {
    const client = this.connect();
    const receiver = client.createReceiver(this.queueName, {
      receiveMode: 'peekLock',
      subQueueType: deadLetter ? 'deadLetter' : undefined,
    });
    try {
      return await fn(receiver);
    } finally {
      await receiver.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }
}

function deadLetterOf(m: ServiceBusReceivedMessage): DeadLetter {
  return {
    sequenceNumber: m.sequenceNumber?.toString() ?? '',
    messageId: m.messageId === undefined ? null : String(m.messageId),
    body: m.body as unknown,
    reason: m.deadLetterReason ?? null,
    description: m.deadLetterErrorDescription ?? null,
    enqueuedAt: m.enqueuedTimeUtc ?? null,
    deliveryCount: m.deliveryCount ?? 0,
    deadLetterSource: m.deadLetterSource ?? null,
  };
}
