import type { Message } from 'rhea';
import { ServiceBusFault } from './faults';

/** The source filter a session receiver attaches with; its value is the session id, or null for "any session". */
export const SESSION_FILTER = 'com.microsoft:session-filter';
/** The attach property carrying the session lock's expiry, in .NET ticks (see the SDK's messageSession.ts). */
export const LOCKED_UNTIL_PROPERTY = 'com.microsoft:locked-until-utc';

const TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000n;

/** A time as the 8 big-endian bytes of a .NET ticks long, as the SDK's convertTicksToDate reads it. */
export function toTicks(ms: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(Math.round(ms)) * 10_000n + TICKS_AT_UNIX_EPOCH);
  return bytes;
}

/** The session a message belongs to (`sessionId` in the SDK is the AMQP group-id). */
export function sessionIdOf(message: Message): string | undefined {
  const id: unknown = message.group_id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

export interface SessionLock {
  readonly sessionId: string;
  /** The receiving link holding the session. */
  readonly holder: object;
  lockedUntil: number;
  timer: NodeJS.Timeout;
}

/** Who holds which session of one queue; a lock lapses after the queue's lock duration unless renewed. */
export class SessionLocks {
  private readonly locks = new Map<string, SessionLock>();

  constructor(
    private readonly lockDurationMs: number,
    private readonly now: () => number,
    private readonly onExpired: () => void,
  ) {}

  isLocked(sessionId: string): boolean {
    return this.locks.has(sessionId);
  }

  /** Locks `sessionId` for `holder`; Azure refuses a session another receiver holds (SessionCannotBeLocked). */
  acquire(sessionId: string, holder: object): SessionLock {
    if (this.locks.has(sessionId)) throw sessionCannotBeLocked(sessionId);
    const timer = setTimeout(() => this.expire(sessionId), this.lockDurationMs);
    timer.unref();
    const lock = { sessionId, holder, lockedUntil: this.now() + this.lockDurationMs, timer };
    this.locks.set(sessionId, lock);
    return lock;
  }

  /** A receiver's link closed: Azure releases its session at once. */
  release(holder: object): void {
    for (const [id, lock] of this.locks) {
      if (lock.holder !== holder) continue;
      clearTimeout(lock.timer);
      this.locks.delete(id);
    }
  }

  renew(sessionId: string): number {
    const lock = this.locks.get(sessionId);
    if (!lock) throw sessionLockLost(sessionId);
    lock.lockedUntil = this.now() + this.lockDurationMs;
    lock.timer.refresh();
    return lock.lockedUntil;
  }

  /** Whether `holder` still holds `sessionId` (its lock has not lapsed). */
  holds(holder: object, sessionId: string): boolean {
    return this.locks.get(sessionId)?.holder === holder;
  }

  clear(): void {
    for (const lock of this.locks.values()) clearTimeout(lock.timer);
    this.locks.clear();
  }

  private expire(sessionId: string): void {
    this.locks.delete(sessionId);
    this.onExpired();
  }
}

export const sessionCannotBeLocked = (sessionId: string): ServiceBusFault =>
  new ServiceBusFault(
    'com.microsoft:session-cannot-be-locked',
    `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`,
    410,
  );

export const sessionLockLost = (sessionId: string): ServiceBusFault =>
  new ServiceBusFault(
    'com.microsoft:session-lock-lost',
    `The session lock has expired on the MessageSession '${sessionId}'. Accept a new MessageSession.`,
    410,
  );

/** Azure's refusal of a plain receiver on a session queue (InvalidOperationException). */
export const sessionReceiverRequired = (): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:not-allowed',
    'It is not possible for an entity that requires sessions to create a non-sessionful message receiver.',
    400,
  );

/** Azure's refusal of a message without a session id sent to a session queue. */
export const sessionIdRequired = (): ServiceBusFault =>
  new ServiceBusFault(
    'amqp:not-allowed',
    'The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session ' +
      'support enabled can only receive messages that have the SessionId set to a valid value.',
    400,
  );
