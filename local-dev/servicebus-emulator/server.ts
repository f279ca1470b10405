import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import {
  create_container,
  message as amqp,
  types,
  type Connection,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
  type TerminusOptions,
} from 'rhea';
import {
  BATCH_MESSAGE_FORMAT,
  decodeBatch,
  encodeMessage,
  scheduledEnqueueTime,
  toWireMessage,
} from './amqp-message';
import { parseEmulatorConfig, type EmulatorConfig } from './config';
import { asFault, entityNotFound, ServiceBusFault } from './faults';
import { checkMessageLimits, TIER_LIMITS, type Tier } from './limits';
import { deliveryTagToLockToken, lockTokenToDeliveryTag } from './lock-token';
import { handleManagementRequest } from './management';
import { LOCKED_UNTIL_PROPERTY, SESSION_FILTER, sessionReceiverRequired, toTicks } from './sessions';
import { DEFAULT_COMPACT_AT_BYTES, Journal, replay } from './persistence';
import { Pressure, type PressureOptions } from './pressure';
import { QueueEntity, type Consumer, type MessageLock, type Settlement, type StoredMessage } from './queue';

/** Azure Service Bus Standard's message (and batch) size limit. */
export const MAX_MESSAGE_BYTES = TIER_LIMITS.Standard.maxMessageBytes;
const EXPIRY_SWEEP_MS = 1_000;

export interface ServiceBusEmulatorOptions {
  /** Parsed config, or the raw `Config.json` object of Microsoft's emulator. */
  config: EmulatorConfig | unknown;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  log?: (line: string) => void;
  /** Opt-in "Azure under load" faults (see pressure.ts); off unless given. */
  pressure?: PressureOptions;
  /** Keeps queue state in this directory (created if absent) so it survives a restart; in memory without it. */
  dataDir?: string;
  /** Whose size limits to enforce (limits.ts); Standard by default. */
  tier?: Tier;
  /** The journal in `dataDir` is compacted once it passes this size (64 MiB by default). */
  compactAtBytes?: number;
}

export interface ServiceBusEmulator {
  readonly port: number;
  readonly connectionString: string;
  /** A queue's live state, for tests and diagnostics. */
  queue(name: string): QueueEntity | undefined;
  close(): Promise<void>;
}

/** What an address names: a queue (or its dead-letter queue), its management node, or the CBS node. */
type Node =
  { kind: 'cbs' } | { kind: 'entity'; entity: QueueEntity } | { kind: 'management'; entity: QueueEntity };

/** The rhea fields this server reads and sets that its typings leave out. */
interface LinkState {
  credit: number;
  delivery_count: number;
  local: { attach: { snd_settle_mode?: number; rcv_settle_mode?: number; max_message_size?: number } };
  remote: {
    attach?: {
      source?: { address?: string; filter?: Record<string, unknown> } | null;
      target?: { address?: string } | null;
      snd_settle_mode?: number;
      rcv_settle_mode?: number;
    };
  };
}
const state = (link: Sender | Receiver): LinkState => link as unknown as LinkState;

interface ConnectionState {
  cbsReplies?: Sender;
  /** Management reply links by their target address (the requests' `reply_to`). */
  managementReplies: Map<string, Sender>;
  consumers: Set<LinkConsumer>;
}

/** A receiving client link, with credit counted here because rhea only counts transfers it has written. */
class LinkConsumer implements Consumer {
  private sent = 0;
  readonly receiveAndDelete: boolean;
  sessionId: string | undefined;

  constructor(
    readonly sender: Sender,
    readonly entity: QueueEntity,
  ) {
    this.receiveAndDelete = state(sender).remote.attach?.snd_settle_mode === 1;
  }

  /** Credit granted by the client's last flow, less what has been sent since. */
  private credit(): number {
    const s = state(this.sender);
    return s.credit + s.delivery_count - this.sent;
  }

  hasCredit(): boolean {
    return this.sender.is_open() && this.credit() > 0 && this.sender.sendable();
  }

  deliver(message: StoredMessage, deliveryCount: number, lock: MessageLock | undefined): void {
    const tag = lock ? lockTokenToDeliveryTag(lock.token) : randomBytes(16);
    this.sent++;
    this.sender.send(encodeMessage(toWireMessage(message, deliveryCount, lock)), tag, 0);
  }

  /** Answers a drain: nothing more to send, so the unused credit is given back. */
  drain(): void {
    const unused = this.credit();
    if (unused > 0) {
      this.sent += unused;
      this.sender.set_drained(true);
    }
  }
}

export async function startServiceBusEmulator(
  options: ServiceBusEmulatorOptions,
): Promise<ServiceBusEmulator> {
  const config = isParsed(options.config) ? options.config : parseEmulatorConfig(options.config);
  const log = options.log ?? (() => undefined);
  const limits = TIER_LIMITS[options.tier ?? 'Standard'];
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  for (const part of config.ignored) log(`ignored (not supported): ${part}`);

  const queues = new Map<string, QueueEntity>();
  for (const q of config.queues) queues.set(q.name.toLowerCase(), new QueueEntity(q.name, q));
  let journal: Journal | undefined;
  if (options.dataDir !== undefined) {
    mkdirSync(options.dataDir, { recursive: true });
    const opened = Journal.open(options.dataDir, {
      compactAtBytes: options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES,
      log,
    });
    journal = opened.journal;
    const images = replay(opened.records);
    for (const q of queues.values()) q.persistTo(journal, images);
    journal.setSnapshotSource(function* () {
      for (const q of queues.values()) yield* q.snapshot();
    });
  }
  /** Acknowledges only once the operation's journal records are durable (at once in memory). */
  const whenDurable = (ack: () => void) => (journal ? journal.afterDurable(ack) : ack());

  const connections = new WeakMap<Connection, ConnectionState>();
  const consumers = new WeakMap<Sender, LinkConsumer>();
  const connectionState = (c: Connection): ConnectionState => {
    let s = connections.get(c);
    if (!s) {
      s = { managementReplies: new Map(), consumers: new Set() };
      connections.set(c, s);
    }
    return s;
  };

  const resolve = (address: string | undefined): Node | undefined => {
    if (!address) return undefined;
    if (address === '$cbs') return { kind: 'cbs' };
    const parts = address.replace(/^\/+/, '').split('/');
    const queue = queues.get(parts[0].toLowerCase());
    if (!queue) return undefined;
    let entity = queue;
    let i = 1;
    if (parts[i]?.toLowerCase() === '$deadletterqueue') {
      entity = queue.deadLetterQueue as QueueEntity;
      i++;
    }
    if (i === parts.length) return { kind: 'entity', entity };
    if (i === parts.length - 1 && parts[i].toLowerCase() === '$management') {
      return { kind: 'management', entity };
    }
    return undefined;
  };

  const container = create_container({
    id: 'longhaul-servicebus-emulator',
    receiver_options: { autoaccept: false },
    sender_options: { treat_modified_as_released: false },
  });
  container.sasl_server_mechanisms.enable_anonymous();
  const pressure = options.pressure ? new Pressure(options.pressure, container, log) : undefined;

  container.on('sender_open', (ctx: EventContext) => {
    const sender = ctx.sender as Sender;
    const remote = state(sender).remote.attach ?? {};
    const address = remote.source?.address;
    sender.set_source(terminus(address));
    sender.set_target(terminus(remote.target?.address));
    state(sender).local.attach.snd_settle_mode = remote.snd_settle_mode;
    state(sender).local.attach.rcv_settle_mode = remote.rcv_settle_mode;
    const node = resolve(address);
    const conn = connectionState(ctx.connection);
    if (!node) {
      closeLink(sender, entityNotFound(host, address ?? '(none)'));
    } else if (node.kind === 'cbs') {
      conn.cbsReplies = sender;
    } else if (node.kind === 'management') {
      conn.managementReplies.set(remote.target?.address ?? '', sender);
    } else {
      const consumer = new LinkConsumer(sender, node.entity);
      if (node.entity.sessions && !acceptSession(sender, consumer, node.entity, remote.source)) return;
      pressure?.watch(consumer);
      consumers.set(sender, consumer);
      conn.consumers.add(consumer);
      node.entity.addConsumer(consumer);
    }
  });

  /** Binds a session receiver to its session; false when the link gets no session (refused or none free). */
  const acceptSession = (
    sender: Sender,
    consumer: LinkConsumer,
    entity: QueueEntity,
    source: { address?: string; filter?: Record<string, unknown> } | null | undefined,
  ): boolean => {
    const filter = source?.filter;
    if (!filter || !(SESSION_FILTER in filter)) {
      closeLink(sender, sessionReceiverRequired());
      return false;
    }
    const requested = filter[SESSION_FILTER];
    let lock;
    try {
      lock = entity.acceptSession(consumer, typeof requested === 'string' ? requested : undefined);
    } catch (err) {
      closeLink(sender, asFault(err));
      return false;
    }
    // With no session in the attach reply, the SDK reports "no unlocked sessions available" (SessionCannotBeLocked).
    if (!lock) return false;
    consumer.sessionId = lock.sessionId;
    sender.set_source({
      address: source?.address,
      filter: { [SESSION_FILTER]: lock.sessionId },
    } as TerminusOptions);
    (state(sender).local.attach as { properties?: Record<string, unknown> }).properties = {
      [LOCKED_UNTIL_PROPERTY]: types.wrap_long(toTicks(lock.lockedUntil)),
    };
    return true;
  };

  container.on('receiver_open', (ctx: EventContext) => {
    const receiver = ctx.receiver as Receiver;
    const remote = state(receiver).remote.attach ?? {};
    const address = remote.target?.address;
    receiver.set_source(terminus(remote.source?.address));
    receiver.set_target(terminus(address));
    state(receiver).local.attach.max_message_size = limits.maxMessageBytes;
    const node = resolve(address);
    if (!node) closeLink(receiver, entityNotFound(host, address ?? '(none)'));
    else if (node.kind === 'entity' && node.entity.isDeadLetterQueue) {
      closeLink(
        receiver,
        new ServiceBusFault('amqp:not-allowed', 'Cannot send to a dead-letter queue.', 400),
      );
    }
  });

  container.on('message', (ctx: EventContext) => {
    const receiver = ctx.receiver as Receiver;
    const delivery = ctx.delivery as Delivery;
    const node = resolve(state(receiver).remote.attach?.target?.address);
    const throttled = node?.kind === 'entity' ? pressure?.throttleSend(ctx) : undefined;
    if (throttled) return settle(delivery, throttled);
    try {
      if (node?.kind === 'cbs') replyToCbs(ctx);
      else if (node?.kind === 'management') replyToManagement(ctx, node.entity);
      else if (node?.kind === 'entity') acceptSend(ctx, node.entity);
      whenDurable(() => settle(delivery, undefined));
    } catch (err) {
      const fault = asFault(err);
      if (fault.statusCode >= 500) log(`error handling a transfer on ${receiver.name}: ${String(err)}`);
      settle(delivery, fault);
    }
  });

  const acceptSend = (ctx: EventContext, entity: QueueEntity) => {
    // rhea decodes format 0 itself and hands any other format over as raw bytes.
    const format = (ctx as EventContext & { format?: number }).format;
    const batch = format === BATCH_MESSAGE_FORMAT;
    if (format !== undefined && format !== 0 && !batch) {
      throw new ServiceBusFault('amqp:not-implemented', `message format ${format} is not supported`, 501);
    }
    const raw = ctx.message as unknown;
    const size = batch ? (raw as Buffer).length : encodeMessage(raw as Message).length;
    const messages = batch ? decodeBatch(raw as Buffer) : [raw as Message];
    // A batch counts against the message size limit as a whole; each message in it against the header limits.
    for (const m of messages) {
      checkMessageLimits(m, size, limits);
      entity.validate(m);
    }
    for (const m of messages) entity.enqueue(m, { scheduledAt: scheduledEnqueueTime(m) });
  };

  const replyToCbs = (ctx: EventContext) => {
    const request = ctx.message as Message;
    const replies = connectionState(ctx.connection).cbsReplies;
    // Any token is accepted: the emulator has no identities.
    replies?.send({
      correlation_id: request.message_id,
      to: request.reply_to,
      application_properties: { 'status-code': 202, 'status-description': 'Accepted' },
      body: undefined,
    });
  };

  const replyToManagement = (ctx: EventContext, entity: QueueEntity) => {
    const request = ctx.message as Message;
    const replies = connectionState(ctx.connection).managementReplies.get(request.reply_to ?? '');
    const operation = request.application_properties?.operation as unknown;
    let response: { statusCode: number; body?: unknown; fault?: ServiceBusFault };
    try {
      response =
        pressure?.throttleManagement() ?? handleManagementRequest(entity, operation, request.body, limits);
    } catch (err) {
      const fault = asFault(err);
      if (fault.statusCode >= 500 && fault.statusCode !== 501) {
        log(`error in management operation ${String(operation)}: ${String(err)}`);
      }
      response = { statusCode: fault.statusCode, fault };
    }
    if (!replies) {
      log(`management reply dropped: no link for reply-to ${String(request.reply_to)}`);
      return;
    }
    const properties: Record<string, unknown> = {
      'status-code': response.statusCode,
      'status-description': response.fault?.message ?? 'OK',
    };
    if (response.fault) properties['error-condition'] = response.fault.condition;
    whenDurable(() =>
      replies.send({
        correlation_id: request.message_id,
        to: request.reply_to,
        application_properties: properties,
        body: response.body,
      }),
    );
  };

  const onOutcome = (ctx: EventContext) => {
    const delivery = ctx.delivery as Delivery;
    const consumer = consumers.get(ctx.sender as Sender);
    if (!consumer || consumer.receiveAndDelete || delivery.settled) return;
    const lockToken = deliveryTagToLockToken(delivery.tag as Buffer);
    const finish = (fault: ServiceBusFault | undefined) => {
      settle(delivery, fault);
      // Once the sender settles, the delivery is over (AMQP forgets it); rhea would keep it in the
      // session's ring buffer until the client settles too, which an SDK receiver never does.
      (delivery as { remote_settled: boolean }).remote_settled = true;
    };
    try {
      if (!lockToken)
        throw new ServiceBusFault('amqp:invalid-field', 'delivery tag is not a lock token', 400);
      consumer.entity.settle(lockToken, settlementOf(delivery.remote_state));
      whenDurable(() => finish(undefined));
    } catch (err) {
      finish(asFault(err));
    }
  };
  for (const outcome of ['accepted', 'released', 'rejected', 'modified']) container.on(outcome, onOutcome);

  const refill = (ctx: EventContext) => consumers.get(ctx.sender as Sender)?.entity.pump();
  container.on('sendable', refill);
  container.on('sender_draining', (ctx: EventContext) => {
    const consumer = consumers.get(ctx.sender as Sender);
    if (!consumer) return;
    consumer.entity.pump();
    consumer.drain();
  });

  const dropConsumer = (consumer: LinkConsumer, conn: ConnectionState) => {
    consumer.entity.removeConsumer(consumer);
    conn.consumers.delete(consumer);
  };
  container.on('sender_close', (ctx: EventContext) => {
    const consumer = consumers.get(ctx.sender as Sender);
    if (consumer) dropConsumer(consumer, connectionState(ctx.connection));
  });
  const dropConnection = (ctx: EventContext) => {
    const conn = connections.get(ctx.connection);
    if (!conn) return;
    for (const consumer of [...conn.consumers]) dropConsumer(consumer, conn);
    connections.delete(ctx.connection);
  };
  container.on('connection_close', dropConnection);
  container.on('disconnected', dropConnection);
  // One misbehaving client must not take the server down: errors end that client's connection only.
  container.on('error', (err: unknown) => log(`connection error: ${String(err)}`));
  container.on('protocol_error', (err: unknown) => log(`protocol error: ${String(err)}`));
  for (const event of ['connection_error', 'session_error', 'sender_error', 'receiver_error']) {
    container.on(event, () => undefined);
  }

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    // Without it, Nagle's algorithm holds back small frames (dispositions, flows) waiting for ACKs.
    socket.setNoDelay(true);
    coalesceWrites(socket);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => log(`socket error: ${err.message}`));
    const connection = container.create_connection({ id: `conn-${sockets.size}` } as never) as unknown as {
      accept(s: net.Socket): void;
      eof(): void;
    };
    connection.accept(socket);
    // rhea tears a connection down (heartbeat timers included) on the socket's 'end' only; a destroyed socket
    // closes without it, and its timers would keep the process alive.
    socket.on('close', () => {
      if (!socket.readableEnded) connection.eof();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });

  const sweep = setInterval(() => {
    for (const q of queues.values()) q.expireMessages();
  }, EXPIRY_SWEEP_MS);
  sweep.unref();

  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connectionString:
      `Endpoint=sb://${host}:${port};SharedAccessKeyName=RootManageSharedAccessKey;` +
      'SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
    queue: (name) => queues.get(name.toLowerCase()),
    close: async () => {
      clearInterval(sweep);
      pressure?.stop();
      for (const q of queues.values()) q.close();
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await journal?.close();
    },
  };
}

/**
 * rhea writes every frame to the socket on its own; with TCP_NODELAY each would be a syscall and a packet.
 * Corking until the end of the tick sends the frames of one turn (deliveries, dispositions) in one write.
 */
function coalesceWrites(socket: net.Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as typeof socket.write;
}

function isParsed(config: unknown): config is EmulatorConfig {
  return typeof config === 'object' && config !== null && Array.isArray((config as EmulatorConfig).queues);
}

/** rhea's outcome constructors, which its typings leave out. */
const outcomes = amqp as unknown as {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
};

function terminus(address: string | undefined): TerminusOptions {
  return (address === undefined ? {} : { address }) as TerminusOptions;
}

function closeLink(link: Sender | Receiver, fault: ServiceBusFault): void {
  link.close({ condition: fault.condition, description: fault.message });
}

/** Settles a client's transfer or disposition: accepted, or rejected with the fault Azure would report. */
function settle(delivery: Delivery, fault: ServiceBusFault | undefined): void {
  if (delivery.remote_settled) return;
  delivery.update(
    true,
    fault
      ? outcomes.rejected({ error: { condition: fault.condition, description: fault.message } }).described()
      : outcomes.accepted().described(),
  );
}

/** The client's disposition outcome as a settlement (see the SDK's complete/abandon/defer/deadLetter). */
function settlementOf(outcome: unknown): Settlement {
  const o = outcome as {
    constructor?: { composite_type?: string };
    undeliverable_here?: boolean;
    message_annotations?: Record<string, unknown>;
    error?: { condition?: string; info?: Record<string, unknown> };
  };
  switch (o?.constructor?.composite_type) {
    case 'accepted':
      return { kind: 'complete' };
    case 'modified':
      return o.undeliverable_here
        ? { kind: 'defer', properties: o.message_annotations }
        : { kind: 'abandon', properties: o.message_annotations };
    case 'rejected': {
      const { DeadLetterReason, DeadLetterErrorDescription, ...properties } = o.error?.info ?? {};
      return {
        kind: 'deadLetter',
        reason: typeof DeadLetterReason === 'string' ? DeadLetterReason : undefined,
        description: typeof DeadLetterErrorDescription === 'string' ? DeadLetterErrorDescription : undefined,
        properties,
      };
    }
    default:
      return { kind: 'abandon' };
  }
}
