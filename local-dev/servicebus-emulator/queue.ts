import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';
import { decodeMessage, encodeMessage } from './amqp-message';
import type { QueueSettings } from './config';
import { lockLost, messageNotFound, ServiceBusFault } from './faults';
import { newLockToken } from './lock-token';
import type { EntityImage, Journal, JournalRecord } from './persistence';
import { SessionLocks, sessionIdOf, sessionIdRequired, sessionLockLost, type SessionLock } from './sessions';

export interface MessageLock {
  readonly token: string;
  lockedUntil: number;
  timer: NodeJS.Timeout;
}

/** A message as the entity holds it: the sender's AMQP sections plus what the broker adds. */
export interface StoredMessage {
  readonly sequenceNumber: number;
  readonly messageId: string;
  /** The sender's message; the broker's annotations are added when it goes out. */
  amqp: Message;
  enqueuedAt: number;
  expiresAt: number;
  /** How many times it has been handed to a receiver. */
  deliveries: number;
  deferred: boolean;
  scheduled?: { at: number; timer: NodeJS.Timeout };
  lock?: MessageLock;
  deadLetterSource?: string;
}

/** A receiving link as the queue sees it. */
export interface Consumer {
  readonly receiveAndDelete: boolean;
  /** The session it holds, on a session queue. */
  readonly sessionId?: string;
  hasCredit(): boolean;
  deliver(message: StoredMessage, deliveryCount: number, lock: MessageLock | undefined): void;
}

export type Settlement =
  | { kind: 'complete' }
  | { kind: 'abandon'; properties?: Record<string, unknown> }
  | { kind: 'defer'; properties?: Record<string, unknown> }
  | { kind: 'deadLetter'; reason?: string; description?: string; properties?: Record<string, unknown> };

export interface EnqueueOptions {
  /** Enqueue later (a scheduled message). */
  scheduledAt?: number;
}

type Clock = () => number;

/** One queue (or its dead-letter sub-queue): ordering, locks, redelivery, scheduling, expiry and de-duplication. */
export class QueueEntity {
  readonly deadLetterQueue: QueueEntity | undefined;
  private nextSequenceNumber = 1;
  /** Messages ready to deliver, in sequence order. */
  private readonly available: StoredMessage[] = [];
  /** Every message the entity holds, in any state, by sequence number. */
  private readonly messages = new Map<number, StoredMessage>();
  private readonly locked = new Map<string, StoredMessage>();
  /** Message ids seen within the duplicate-detection window, oldest first, with when each was seen. */
  private readonly recentIds = new Map<string, { at: number; sequenceNumber: number }>();
  private readonly consumers: Consumer[] = [];
  private nextConsumer = 0;
  private pumping = false;
  private journal: Journal | undefined;
  /** Session locks, on a queue that requires sessions (its dead-letter queue does not). */
  readonly sessions: SessionLocks | undefined;
  private readonly sessionStates = new Map<string, Buffer>();

  constructor(
    readonly path: string,
    readonly settings: QueueSettings,
    private readonly now: Clock = Date.now,
    readonly isDeadLetterQueue = false,
  ) {
    this.deadLetterQueue = isDeadLetterQueue
      ? undefined
      : new QueueEntity(`${path}/$DeadLetterQueue`, settings, now, true);
    this.sessions =
      settings.requiresSession && !isDeadLetterQueue
        ? new SessionLocks(settings.lockDurationMs, now, () => this.pump())
        : undefined;
  }

  /** Throws what Azure reports for a message this entity does not take. */
  validate(sent: Message): void {
    if (this.sessions && sessionIdOf(sent) === undefined) throw sessionIdRequired();
  }

  get size(): number {
    return this.messages.size;
  }

  /** Accepts a message; returns its sequence number (the original one for a detected duplicate). */
  enqueue(sent: Message, options: EnqueueOptions = {}): number {
    this.validate(sent);
    const now = this.now();
    // The SDK's lock renewal needs a message id, and Azure assigns one when the sender did not.
    const amqp =
      sent.message_id === undefined || sent.message_id === null
        ? { ...sent, message_id: randomUUID().replace(/-/g, '') }
        : sent;
    const messageId = messageIdOf(amqp);
    if (this.settings.requiresDuplicateDetection && !this.isDeadLetterQueue) {
      this.forgetOldIds(now);
      const seen = this.recentIds.get(messageId);
      if (seen) return seen.sequenceNumber;
    }
    const sequenceNumber = this.nextSequenceNumber++;
    if (this.settings.requiresDuplicateDetection && !this.isDeadLetterQueue) {
      this.recentIds.set(messageId, { at: now, sequenceNumber });
      this.journal?.append({ type: 'seen', entity: this.path, messageId, at: now, sequenceNumber });
    }
    const stored: StoredMessage = {
      sequenceNumber,
      messageId,
      amqp,
      enqueuedAt: now,
      expiresAt: this.expiryFor(amqp, now),
      deliveries: 0,
      deferred: false,
    };
    this.messages.set(sequenceNumber, stored);
    if (options.scheduledAt !== undefined && options.scheduledAt > now) {
      const timer = setTimeout(() => this.activateScheduled(stored), options.scheduledAt - now);
      timer.unref();
      stored.scheduled = { at: options.scheduledAt, timer };
      this.persist(stored);
    } else {
      this.persist(stored);
      this.makeAvailable(stored);
      this.pump();
    }
    return sequenceNumber;
  }

  /** Moves a message received elsewhere into this (dead-letter) queue. */
  adopt(from: StoredMessage, source: string, applicationProperties: Record<string, unknown>): void {
    const amqp: Message = {
      ...from.amqp,
      application_properties: { ...from.amqp.application_properties, ...applicationProperties },
    };
    const sequenceNumber = this.nextSequenceNumber++;
    const stored: StoredMessage = {
      sequenceNumber,
      messageId: from.messageId,
      amqp,
      enqueuedAt: this.now(),
      expiresAt: Infinity,
      deliveries: from.deliveries,
      deferred: false,
      deadLetterSource: source,
    };
    this.messages.set(sequenceNumber, stored);
    this.persist(stored);
    this.makeAvailable(stored);
    this.pump();
  }

  cancelScheduled(sequenceNumber: number): void {
    const m = this.messages.get(sequenceNumber);
    if (!m?.scheduled) throw messageNotFound(`no scheduled message with sequence number ${sequenceNumber}`);
    clearTimeout(m.scheduled.timer);
    this.remove(sequenceNumber);
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  /** Its locked messages stay locked until their locks expire, as on Azure. */
  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    this.sessions?.release(consumer);
  }

  /**
   * Locks a session for `holder`: the named one (even without messages, as Azure allows), or else the session
   * of the oldest available message no one holds; undefined when there is none.
   * https://learn.microsoft.com/azure/service-bus-messaging/message-sessions
   */
  acceptSession(holder: Consumer, sessionId: string | undefined): SessionLock | undefined {
    const sessions = this.sessions as SessionLocks;
    if (sessionId !== undefined) return sessions.acquire(sessionId, holder);
    for (const m of this.available) {
      const id = sessionIdOf(m.amqp);
      if (id !== undefined && !sessions.isLocked(id)) return sessions.acquire(id, holder);
    }
    return undefined;
  }

  renewSessionLock(sessionId: string): number {
    return (this.sessions ?? noSessions()).renew(sessionId);
  }

  getSessionState(sessionId: string): Buffer | undefined {
    if (!this.sessions?.isLocked(sessionId)) throw sessionLockLost(sessionId);
    return this.sessionStates.get(sessionId);
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    if (!this.sessions?.isLocked(sessionId)) throw sessionLockLost(sessionId);
    if (state) this.sessionStates.set(sessionId, state);
    else this.sessionStates.delete(sessionId);
    this.journal?.append({ type: 'sessionState', entity: this.path, sessionId, state });
  }

  /** Hands available messages to consumers with credit, round-robin. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      if (this.sessions) this.pumpSessions(this.sessions);
      else {
        for (;;) {
          const consumer = this.consumerWithCredit();
          if (!consumer) return;
          const message = this.takeAvailable();
          if (!message) return;
          this.handOut(consumer, message);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** A session's messages go, in order, only to the receiver holding the session. */
  private pumpSessions(sessions: SessionLocks): void {
    const now = this.now();
    for (const consumer of this.consumers) {
      const sessionId = consumer.sessionId;
      if (sessionId === undefined || !sessions.holds(consumer, sessionId)) continue;
      while (consumer.hasCredit()) {
        const i = this.available.findIndex((m) => sessionIdOf(m.amqp) === sessionId);
        if (i < 0) break;
        const [message] = this.available.splice(i, 1);
        if (message.expiresAt <= now) this.expire(message);
        else this.handOut(consumer, message);
      }
    }
  }

  private handOut(consumer: Consumer, message: StoredMessage): void {
    const deliveryCount = message.deliveries++;
    if (consumer.receiveAndDelete) {
      this.remove(message.sequenceNumber);
      consumer.deliver(message, deliveryCount, undefined);
    } else {
      this.persistDeliveries(message);
      consumer.deliver(message, deliveryCount, this.lock(message));
    }
  }

  settle(lockToken: string, settlement: Settlement): void {
    const m = this.lockedMessage(lockToken);
    this.unlock(m);
    switch (settlement.kind) {
      case 'complete':
        this.remove(m.sequenceNumber);
        break;
      case 'abandon':
        if (this.modifyProperties(m, settlement.properties)) this.persist(m);
        this.release(m);
        break;
      case 'defer':
        this.modifyProperties(m, settlement.properties);
        m.deferred = true;
        this.persist(m);
        break;
      case 'deadLetter':
        this.modifyProperties(m, settlement.properties);
        // The count goes up when a lock expires or the message is abandoned, not when it is dead-lettered
        // (https://learn.microsoft.com/dotnet/api/azure.messaging.servicebus.administration.queueproperties.maxdeliverycount).
        m.deliveries--;
        this.deadLetter(m, settlement.reason, settlement.description);
        break;
    }
    this.pump();
  }

  renewLock(lockToken: string): number {
    const m = this.lockedMessage(lockToken);
    const lock = m.lock as MessageLock;
    lock.lockedUntil = this.now() + this.settings.lockDurationMs;
    lock.timer.refresh();
    return lock.lockedUntil;
  }

  /** Locks deferred messages by sequence number (peek-lock), or removes them (receive-and-delete). */
  receiveDeferred(
    sequenceNumbers: number[],
    receiveAndDelete: boolean,
  ): Array<{ message: StoredMessage; deliveryCount: number; lock?: MessageLock }> {
    const found = sequenceNumbers.map((n) => {
      const m = this.messages.get(n);
      if (!m || !m.deferred || m.lock) throw messageNotFound(`no deferred message with sequence number ${n}`);
      return m;
    });
    return found.map((message) => {
      const deliveryCount = message.deliveries++;
      if (receiveAndDelete) {
        this.remove(message.sequenceNumber);
        return { message, deliveryCount };
      }
      this.persistDeliveries(message);
      return { message, deliveryCount, lock: this.lock(message) };
    });
  }

  /** Messages from a sequence number on, in any state, without locking them. */
  peek(fromSequenceNumber: number, count: number): StoredMessage[] {
    this.expireMessages();
    return [...this.messages.values()]
      .filter((m) => m.sequenceNumber >= fromSequenceNumber)
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
      .slice(0, count);
  }

  /** Removes expired available messages, dead-lettering them when the queue says so. */
  expireMessages(): void {
    const now = this.now();
    for (let i = this.available.length - 1; i >= 0; i--) {
      const m = this.available[i];
      if (m.expiresAt <= now) {
        this.available.splice(i, 1);
        this.expire(m);
      }
    }
  }

  /**
   * Journals every later change of this entity (and its dead-letter queue), after taking back the state an
   * earlier run journaled. Locks are not journaled: a message locked at the crash is available at once.
   */
  persistTo(journal: Journal, images: Map<string, EntityImage>): void {
    this.restore(images.get(this.path));
    this.journal = journal;
    this.deadLetterQueue?.persistTo(journal, images);
    this.pump();
  }

  /** The records that rebuild this entity's live state (a compaction writes them instead of its history). */
  *snapshot(): Generator<JournalRecord> {
    yield { type: 'highWater', entity: this.path, nextSequenceNumber: this.nextSequenceNumber };
    for (const [messageId, seen] of this.recentIds) {
      yield { type: 'seen', entity: this.path, messageId, ...seen };
    }
    for (const m of this.messages.values())
      yield { type: 'upsert', entity: this.path, message: toPersisted(m) };
    for (const [sessionId, state] of this.sessionStates) {
      yield { type: 'sessionState', entity: this.path, sessionId, state };
    }
    if (this.deadLetterQueue) yield* this.deadLetterQueue.snapshot();
  }

  private restore(image: EntityImage | undefined): void {
    if (!image) return;
    this.nextSequenceNumber = Math.max(this.nextSequenceNumber, image.nextSequenceNumber);
    for (const [id, seen] of image.seen) this.recentIds.set(id, seen);
    for (const [id, state] of image.sessionStates) this.sessionStates.set(id, state);
    const now = this.now();
    const restored = [...image.messages.values()].sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    for (const p of restored) {
      const stored: StoredMessage = {
        sequenceNumber: p.sequenceNumber,
        messageId: p.messageId,
        amqp: decodeMessage(p.amqp),
        enqueuedAt: p.enqueuedAt,
        expiresAt: p.expiresAt,
        deliveries: p.deliveries,
        deferred: p.deferred,
        deadLetterSource: p.deadLetterSource,
      };
      this.messages.set(stored.sequenceNumber, stored);
      if (p.scheduledAt !== undefined) {
        const timer = setTimeout(() => this.activateScheduled(stored), Math.max(0, p.scheduledAt - now));
        timer.unref();
        stored.scheduled = { at: p.scheduledAt, timer };
      } else if (!p.deferred) {
        this.available.push(stored);
      }
    }
  }

  close(): void {
    for (const m of this.messages.values()) {
      if (m.scheduled) clearTimeout(m.scheduled.timer);
      if (m.lock) clearTimeout(m.lock.timer);
    }
    this.messages.clear();
    this.available.length = 0;
    this.locked.clear();
    this.consumers.length = 0;
    this.sessions?.clear();
    this.deadLetterQueue?.close();
  }

  private expiryFor(amqp: Message, now: number): number {
    if (this.isDeadLetterQueue) return Infinity;
    const ttl = typeof amqp.ttl === 'number' && amqp.ttl > 0 ? amqp.ttl : Infinity;
    return now + Math.min(ttl, this.settings.defaultTtlMs);
  }

  private forgetOldIds(now: number): void {
    for (const [id, seen] of this.recentIds) {
      if (now - seen.at < this.settings.duplicateDetectionWindowMs) break;
      this.recentIds.delete(id);
    }
  }

  private activateScheduled(m: StoredMessage): void {
    m.scheduled = undefined;
    m.enqueuedAt = this.now();
    m.expiresAt = this.expiryFor(m.amqp, m.enqueuedAt);
    this.persist(m);
    this.makeAvailable(m);
    this.pump();
  }

  private makeAvailable(m: StoredMessage): void {
    const list = this.available;
    if (list.length === 0 || list[list.length - 1].sequenceNumber < m.sequenceNumber) {
      list.push(m);
      return;
    }
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].sequenceNumber < m.sequenceNumber) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, m);
  }

  private consumerWithCredit(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.nextConsumer + i) % n];
      if (c.hasCredit()) {
        this.nextConsumer = (this.nextConsumer + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private takeAvailable(): StoredMessage | undefined {
    const now = this.now();
    for (;;) {
      const m = this.available.shift();
      if (!m || m.expiresAt > now) return m;
      this.expire(m);
    }
  }

  private lock(m: StoredMessage): MessageLock {
    const token = newLockToken();
    const timer = setTimeout(() => this.onLockExpired(token), this.settings.lockDurationMs);
    timer.unref();
    m.lock = { token, lockedUntil: this.now() + this.settings.lockDurationMs, timer };
    this.locked.set(token, m);
    return m.lock;
  }

  private unlock(m: StoredMessage): void {
    if (!m.lock) return;
    clearTimeout(m.lock.timer);
    this.locked.delete(m.lock.token);
    m.lock = undefined;
  }

  private lockedMessage(lockToken: string): StoredMessage {
    const m = this.locked.get(lockToken);
    if (!m?.lock) throw lockLost(lockToken);
    if (m.lock.lockedUntil <= this.now()) {
      this.onLockExpired(lockToken);
      throw lockLost(lockToken);
    }
    return m;
  }

  private onLockExpired(lockToken: string): void {
    const m = this.locked.get(lockToken);
    if (!m) return;
    this.unlock(m);
    this.release(m);
    this.pump();
  }

  /** Back to the queue after an abandon or a lost lock, unless it has been delivered too often. */
  private release(m: StoredMessage): void {
    if (!this.isDeadLetterQueue && m.deliveries >= this.settings.maxDeliveryCount) {
      this.deadLetter(
        m,
        'MaxDeliveryCountExceeded',
        `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      );
    } else if (!m.deferred) {
      this.makeAvailable(m);
    }
  }

  private expire(m: StoredMessage): void {
    if (this.settings.deadLetteringOnMessageExpiration) {
      this.deadLetter(m, 'TTLExpiredException', 'The message expired and was dead lettered.');
    } else {
      this.remove(m.sequenceNumber);
    }
  }

  private deadLetter(m: StoredMessage, reason?: string, description?: string): void {
    const properties: Record<string, unknown> = {};
    if (reason !== undefined) properties.DeadLetterReason = reason;
    if (description !== undefined) properties.DeadLetterErrorDescription = description;
    // A dead-letter queue has no dead-letter queue of its own: Azure keeps the message where it is.
    const target = this.deadLetterQueue ?? this;
    // Adopted before it is removed here, so a crash between the two journal records duplicates, never loses.
    target.adopt(m, this.path, properties);
    this.remove(m.sequenceNumber);
  }

  /** Returns whether anything changed. */
  private modifyProperties(m: StoredMessage, properties: Record<string, unknown> | undefined): boolean {
    if (!properties || Object.keys(properties).length === 0) return false;
    m.amqp = {
      ...m.amqp,
      application_properties: { ...m.amqp.application_properties, ...properties },
    };
    return true;
  }

  private remove(sequenceNumber: number): void {
    this.messages.delete(sequenceNumber);
    this.journal?.append({ type: 'remove', entity: this.path, sequenceNumber });
  }

  private persist(m: StoredMessage): void {
    this.journal?.append({ type: 'upsert', entity: this.path, message: toPersisted(m) });
  }

  private persistDeliveries(m: StoredMessage): void {
    this.journal?.append({
      type: 'deliveries',
      entity: this.path,
      sequenceNumber: m.sequenceNumber,
      deliveries: m.deliveries,
    });
  }
}

function noSessions(): never {
  throw new ServiceBusFault('amqp:not-allowed', 'The entity does not require sessions.', 400);
}

function toPersisted(m: StoredMessage) {
  return {
    sequenceNumber: m.sequenceNumber,
    messageId: m.messageId,
    amqp: encodeMessage(m.amqp),
    enqueuedAt: m.enqueuedAt,
    expiresAt: m.expiresAt,
    deliveries: m.deliveries,
    deferred: m.deferred,
    scheduledAt: m.scheduled?.at,
    deadLetterSource: m.deadLetterSource,
  };
}

function messageIdOf(amqp: Message): string {
  const id: unknown = amqp.message_id;
  if (Buffer.isBuffer(id)) return id.toString('hex');
  return String(id);
}
