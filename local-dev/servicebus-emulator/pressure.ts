import type { Connection, Container, EventContext, Sender } from 'rhea';
import { BATCH_MESSAGE_FORMAT, decodeBatch } from './amqp-message';
import { ServiceBusFault } from './faults';
import type { Consumer, QueueEntity } from './queue';

/** "Azure under load": opt-in faults a busy Standard namespace inflicts on its clients. */
export interface PressureOptions {
  /** Operations a second the namespace may perform; beyond that they fail with ServerBusy. */
  serverBusy?: number;
  /** Chance (0 to 1) that a delivered message's lock is lost at once. */
  lockLoss?: number;
  /** Every this many ms, one client connection chosen at random is closed with `amqp:connection:forced`. */
  disconnectEveryMs?: number;
}

const SPEC_KEYS = ['serverBusy', 'lockLoss', 'disconnectEveryMs'] as const;

/** Parses the CLI's `--pressure` spec, e.g. `serverBusy=200,lockLoss=0.02,disconnectEveryMs=5000`. */
export function parsePressureSpec(spec: string): PressureOptions {
  const options: PressureOptions = {};
  for (const part of spec.split(',').map((p) => p.trim())) {
    const [key, raw, extra] = part.split('=');
    const known = SPEC_KEYS.find((k) => k === key?.trim());
    if (!known || raw === undefined || extra !== undefined) {
      throw new Error(
        `--pressure: "${part}" is not one of ${SPEC_KEYS.map((k) => `${k}=<number>`).join(', ')}`,
      );
    }
    const value = Number(raw.trim());
    const valid = known === 'lockLoss' ? value >= 0 && value <= 1 : value > 0;
    if (raw.trim() === '' || !Number.isFinite(value) || !valid) {
      throw new Error(
        `--pressure: ${known} must be ${known === 'lockLoss' ? 'between 0 and 1' : 'a positive number'}, got "${raw}"`,
      );
    }
    options[known] = value;
  }
  return options;
}

/**
 * Azure's ServerBusy: condition `com.microsoft:server-busy` (core-amqp `ConditionErrorNameMapper`, a retryable
 * `ServerBusyError` the SDK reports as code `ServiceBusy`), with the text Azure sends when a namespace runs out of
 * credits (as quoted in Azure/azure-sdk-for-java#37594 for a throttled receive).
 */
const serverBusy = (): ServiceBusFault =>
  new ServiceBusFault(
    'com.microsoft:server-busy',
    'The request was terminated because the namespace is being throttled. Error code : 50009. Please wait 2 seconds ' +
      'and try again. To know more visit https://aka.ms/sbResourceMgrExceptions and https://aka.ms/ServiceBusThrottling',
    503,
  );

/**
 * Azure Standard's credit-based throttling (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-throttling):
 * each period (a second) the namespace gets its credits (1,000 on Azure); each message sent, received or peeked costs
 * one; once they are spent, operations are throttled until the next period.
 */
class Credits {
  private periodStart = -Infinity;
  private left = 0;

  constructor(private readonly perSecond: number) {}

  available(): boolean {
    const now = Date.now();
    if (now - this.periodStart >= 1_000) {
      this.periodStart = now;
      this.left = this.perSecond;
    }
    return this.left > 0;
  }

  /** Spends `cost` credits if any are left (a batch may overdraw the period); false when throttled. */
  take(cost: number): boolean {
    if (!this.available()) return false;
    this.left -= cost;
    return true;
  }
}

/** A receiving link as the server builds it: the queue's consumer, its rhea sender and its entity. */
export interface LinkConsumerLike extends Consumer {
  readonly sender: Sender;
  readonly entity: QueueEntity;
}

/** Pressure mode of one emulator: its throttle, lock losses and forced disconnects. */
export class Pressure {
  private readonly credits: Credits | undefined;
  private readonly connections = new Set<Connection>();
  private readonly disconnectTimer: NodeJS.Timeout | undefined;
  /** What it has inflicted, logged when the emulator closes. */
  private readonly counts = { throttled: 0, locksLost: 0, disconnects: 0 };

  constructor(
    private readonly options: PressureOptions,
    container: Container,
    private readonly log: (line: string) => void,
  ) {
    this.credits = options.serverBusy ? new Credits(options.serverBusy) : undefined;
    container.on('connection_open', (ctx: EventContext) => this.connections.add(ctx.connection));
    const forget = (ctx: EventContext) => this.connections.delete(ctx.connection);
    container.on('connection_close', forget);
    container.on('disconnected', forget);
    if (options.disconnectEveryMs) {
      this.disconnectTimer = setInterval(() => this.disconnectOne(), options.disconnectEveryMs);
      this.disconnectTimer.unref();
    }
  }

  /** The fault for a transfer to a queue over budget (one credit per message, a batch's included), else undefined. */
  throttleSend(ctx: EventContext): ServiceBusFault | undefined {
    if (!this.credits) return undefined;
    const batch = (ctx as EventContext & { format?: number }).format === BATCH_MESSAGE_FORMAT;
    const cost = batch ? decodeBatch(ctx.message as unknown as Buffer).length : 1;
    return this.credits.take(cost) ? undefined : this.busy();
  }

  /** A throttled `$management` request gets a 503 response with the condition, as Azure answers one. */
  throttleManagement(): { statusCode: number; fault: ServiceBusFault } | undefined {
    if (!this.credits || this.credits.take(1)) return undefined;
    const fault = this.busy();
    return { statusCode: fault.statusCode, fault };
  }

  /**
   * Puts a receiving link under pressure. Deliveries cost a credit each; a link the queue would deliver to while the
   * namespace is out of credits is detached with ServerBusy (how a throttled receive fails in
   * Azure/azure-sdk-for-java#37594), which the SDK's receivers retry (core-amqp `retry`, `retryableErrors`) or
   * reattach (a `subscribe()` receiver's `onDetached`). A delivered message may lose its lock: settling or renewing it
   * then fails with MessageLockLost (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-exceptions-latest)
   * and, the lock being gone, the message is available again at once, as after a lock expiry. The server's consumer object is kept (the queue and the connection know it by identity).
   */
  watch(consumer: LinkConsumerLike): void {
    const { credits } = this;
    const lockLoss = this.options.lockLoss ?? 0;
    const hasCredit = consumer.hasCredit.bind(consumer);
    const deliver = consumer.deliver.bind(consumer);
    consumer.hasCredit = () => {
      if (!hasCredit()) return false;
      if (!credits || credits.available()) return true;
      const fault = this.busy();
      consumer.sender.close({ condition: fault.condition, description: fault.message });
      return false;
    };
    consumer.deliver = (message, deliveryCount, lock) => {
      credits?.take(1);
      deliver(message, deliveryCount, lock);
      if (!lock || Math.random() >= lockLoss) return;
      // After the transfer is written, so the client holds the lock it has lost.
      setImmediate(() => {
        try {
          // Abandoning unlocks it and makes it available again, as a lock expiry does.
          consumer.entity.settle(lock.token, { kind: 'abandon' });
          this.counts.locksLost++;
        } catch {
          // Settled or expired in the meantime: nothing left to lose.
        }
      });
    };
  }

  stop(): void {
    clearInterval(this.disconnectTimer);
    const { throttled, locksLost, disconnects } = this.counts;
    this.log(
      `pressure: ${throttled} operations throttled, ${locksLost} locks lost, ${disconnects} connections closed`,
    );
  }

  private busy(): ServiceBusFault {
    this.counts.throttled++;
    return serverBusy();
  }

  /**
   * Azure closes connections with `amqp:connection:forced` when it restarts a gateway node for an upgrade
   * (Azure/azure-sdk-for-js#6524) or drops idle ones (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-amqp-troubleshoot);
   * the SDK maps it to a retryable ConnectionForcedError and reconnects. Locks held over it stay until they expire.
   */
  private disconnectOne(): void {
    const open = [...this.connections].filter((c) => c.is_open());
    if (open.length === 0) return;
    const victim = open[Math.floor(Math.random() * open.length)];
    victim.close({
      condition: 'amqp:connection:forced',
      description: 'The connection was closed by the service for maintenance (a gateway upgrade). Reconnect.',
    });
    this.counts.disconnects++;
    this.log('pressure: closed a client connection with amqp:connection:forced');
  }
}
