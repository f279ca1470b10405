import type { Redis } from 'ioredis';

type Listener = (message: string) => void;

const SUBSCRIBE_WAIT_MS = 1_000;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * One Redis subscriber connection per process, shared by every open stream: a channel is subscribed while at least
 * one listener wants it (reference counted), never once per client.
 */
export class SubscriptionHub {
  private subscriber: Promise<Redis> | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly connect: () => Promise<Redis>) {}

  /** Whether live messages are flowing; streams fall back to polling Postgres while not. */
  get live(): boolean {
    return this.current?.status === 'ready';
  }

  private current: Redis | undefined;

  /** Listens on a channel; the returned function stops listening (and unsubscribes the last one out). */
  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    if (set.size === 1) {
      const redis = await this.connection();
      // While Redis is down the command waits in ioredis' queue and runs on reconnect; the stream polls meanwhile.
      await Promise.race([redis.subscribe(channel).catch(() => undefined), delay(SUBSCRIBE_WAIT_MS)]);
    }
    return () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      void this.connection()
        .then((redis) => redis.unsubscribe(channel))
        .catch(() => undefined);
    };
  }

  /** How many listeners (open streams) a channel has, for tests and metrics. */
  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  async close(): Promise<void> {
    const redis = await this.subscriber?.catch(() => undefined);
    redis?.disconnect();
    this.subscriber = undefined;
    this.listeners.clear();
  }

  private connection(): Promise<Redis> {
    this.subscriber ??= this.connect().then((redis) => {
      this.current = redis;
      redis.on('error', () => undefined);
      redis.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      });
      // ioredis re-subscribes the channels it had after a reconnect (autoResubscribe).
      return redis;
    });
    return this.subscriber;
  }
}
