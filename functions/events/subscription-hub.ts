import type { Redis } from 'ioredis';
import { appMetrics } from '../platform/metrics';
import type { EventChannels, EventJson } from './event-json';

/** Gets the event every listener of the channel gets: the same object, so it must not change it. */
type Listener = (event: EventJson) => void;

const SUBSCRIBE_WAIT_MS = 1_000;
/** Keeps pattern listeners apart from channel listeners in one map (no channel name starts with it). */
const PATTERN_KEY = 'pattern:';
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * One Redis subscriber connection per process, shared by every open stream: a channel is subscribed while at least
 * one listener wants it (reference counted), never once per client. Each message is parsed once, not once per
 * stream: with thousands of streams on a task, per-stream parsing was a tenth of the process's CPU.
 */
export class SubscriptionHub {
  private subscriber: Promise<Redis> | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  /**
   * `checkEveryMs`: how often the subscriber pings Redis. A connection that goes silent (a network partition drops
   * packets, no error comes) would otherwise look live until TCP gives up, many minutes later; an unanswered ping
   * within `checkTimeoutMs` drops it, so streams read Postgres until a new connection is ready.
   */
  constructor(
    /** Absent without Redis (LOCAL_WITHOUT_REDIS): never live, so every stream polls. */
    private readonly connect: (() => Promise<Redis>) | undefined,
    /** The deployment's channels (REDIS_NAMESPACE), which streams subscribe to. */
    readonly channels: EventChannels,
    private readonly health = { checkEveryMs: 5_000, checkTimeoutMs: 2_000 },
  ) {}

  /** Whether live messages are flowing; streams fall back to polling Postgres while not. */
  get live(): boolean {
    return this.current?.status === 'ready';
  }

  /**
   * Calls `listener` each time the subscriptions are in force again after the subscriber reconnected. Redis keeps
   * nothing published while a subscriber was away, so a stream reads Postgres then for what it may have missed,
   * however short the gap. Answers the function that stops the calls.
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private current: Redis | undefined;
  private readonly reconnectListeners = new Set<() => void>();
  private connections = 0;
  private healthTimer: NodeJS.Timeout | undefined;

  /**
   * Listens on a channel, or with `pattern` on every channel matching a glob (an admin's view of all owners); the
   * returned function stops listening (and unsubscribes the last one out).
   */
  async subscribe(channel: string, listener: Listener, pattern = false): Promise<() => void> {
    const key = pattern ? PATTERN_KEY + channel : channel;
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    const connecting = set.size === 1 ? this.connection() : undefined;
    if (connecting) {
      const redis = await connecting;
      const subscribed = pattern ? redis.psubscribe(channel) : redis.subscribe(channel);
      // While Redis is down the command waits in ioredis' queue and runs on reconnect; the stream polls meanwhile.
      await Promise.race([subscribed.catch(() => undefined), delay(SUBSCRIBE_WAIT_MS)]);
    }
    return () => {
      const current = this.listeners.get(key);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(key);
      void this.connection()
        ?.then((redis) => (pattern ? redis.punsubscribe(channel) : redis.unsubscribe(channel)))
        .catch(() => undefined);
    };
  }

  /** How many listeners (open streams) a channel has, for tests and metrics. */
  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.healthTimer);
    const redis = await this.subscriber?.catch(() => undefined);
    redis?.disconnect();
    this.subscriber = undefined;
    this.listeners.clear();
  }

  /** The subscriber connection, made at first use; none without Redis. */
  private connection(): Promise<Redis> | undefined {
    if (!this.connect) return undefined;
    this.subscriber ??= this.connect().then((redis) => {
      this.current = redis;
      redis.on('error', () => undefined);
      // ioredis has sent its re-subscriptions (autoResubscribe) when 'ready' is emitted, and Redis answers in order:
      // once this ping is answered they are in force, and the streams read from Postgres what they missed before.
      redis.on(
        'ready',
        () =>
          void redis.ping().then(
            () => this.subscriptionsBack(),
            () => undefined,
          ),
      );
      redis.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      redis.on('pmessage', (pattern: string, _channel: string, message: string) =>
        this.dispatch(PATTERN_KEY + pattern, message),
      );
      this.healthTimer = setInterval(() => void this.checkAnswers(redis), this.health.checkEveryMs);
      this.healthTimer.unref();
      return redis;
    });
    return this.subscriber;
  }

  private subscriptionsBack(): void {
    // The first connection is no reconnect: streams take their snapshot after subscribing.
    if (this.connections++ === 0) return;
    for (const listener of this.reconnectListeners) listener();
  }

  /** Pings (allowed while subscribed); no answer in time means a silent connection: drop it and connect again. */
  private async checkAnswers(redis: Redis): Promise<void> {
    if (redis.status !== 'ready') return;
    const answered = await Promise.race([
      redis.ping().then(
        () => true,
        () => true, // an error reply still comes from a live connection
      ),
      delay(this.health.checkTimeoutMs).then(() => false),
    ]);
    if (!answered && redis.status === 'ready') redis.disconnect(true);
  }

  private dispatch(key: string, message: string): void {
    const listeners = this.listeners.get(key);
    if (!listeners) return;
    let event: EventJson;
    try {
      event = JSON.parse(message) as EventJson;
    } catch {
      return; // not an event
    }
    // Once per message, not per listener: how long the event took from being recorded to reaching this process.
    const at = Date.parse(event.at);
    if (!Number.isNaN(at)) appMetrics().fanoutLatency.record(Math.max(0, Date.now() - at));
    for (const listener of listeners) listener(event);
  }
}
