import type { Redis } from 'ioredis';
import type { TaskEventRow } from '../storage/task-repository';
import { eventJson, ownerChannel, taskChannel } from './event-json';

/** Where events go besides Postgres (live fan-out); best effort, it must never fail or slow the task. */
export interface LiveEventPublisher {
  publish(event: TaskEventRow): void;
}

/**
 * Publishes a task's events on its Redis channel and its owner's (for the multiplexed stream). Best effort: nothing is
 * awaited by the task, and a Redis failure is only logged, once per outage.
 */
export class RedisEventPublisher implements LiveEventPublisher {
  private failing = false;

  constructor(
    private readonly redis: () => Promise<Redis>,
    private readonly owner: string,
    private readonly log: (message: string) => void,
  ) {}

  publish(event: TaskEventRow): void {
    const payload = JSON.stringify(eventJson(event));
    this.redis()
      .then((redis) =>
        Promise.all([
          redis.publish(taskChannel(event.taskId), payload),
          redis.publish(ownerChannel(this.owner), payload),
        ]),
      )
      .then(
        () => {
          this.failing = false;
        },
        (err: unknown) => {
          if (!this.failing) this.log(`live events not published (Redis): ${String(err)}`);
          this.failing = true;
        },
      );
  }
}
