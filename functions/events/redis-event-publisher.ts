import type { Redis } from 'ioredis';
import { ATTR, SpanKind, withSpan } from '../platform/tracing';
import type { TaskEventRow } from '../model/events';
import { eventJson, type EventChannels } from './event-json';
import { describeError } from '../platform/describe-error';

/** Where events go besides Postgres (live fan-out); best effort, it must never fail or slow the task. */
export interface LiveEventPublisher {
  publish(event: TaskEventRow): void;
}

/** Without Redis (LOCAL_WITHOUT_REDIS) events go to Postgres only, which streams poll. */
export const NO_LIVE_EVENTS: LiveEventPublisher = { publish: () => undefined };

/**
 * Publishes a task's events on its Redis channel and its owner's (for the multiplexed stream). Best effort: nothing is
 * awaited by the task, and a Redis failure is only logged, once per outage.
 */
export class RedisEventPublisher implements LiveEventPublisher {
  private failing = false;

  constructor(
    private readonly redis: () => Promise<Redis>,
    private readonly channels: EventChannels,
    private readonly owner: string,
    private readonly log: (message: string) => void,
  ) {}

  publish(event: TaskEventRow): void {
    const payload = JSON.stringify(eventJson(event));
    // ioredis 6 has no instrumentation: a client span per publish of an event (on both channels).
    withSpan(
      'redis.publish',
      { 'db.system.name': 'redis', 'db.operation.name': 'PUBLISH', [ATTR.taskId]: event.taskId },
      async () => {
        const redis = await this.redis();
        await Promise.all([
          redis.publish(this.channels.task(event.taskId), payload),
          redis.publish(this.channels.owner(this.owner), payload),
        ]);
      },
      { kind: SpanKind.CLIENT },
    ).then(
      () => {
        this.failing = false;
      },
      (err: unknown) => {
        if (!this.failing) this.log(`live events not published (Redis): ${describeError(err)}`);
        this.failing = true;
      },
    );
  }
}
