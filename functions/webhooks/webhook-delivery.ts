import { OutboundError, type OutboundClient } from '../outbound/outbound-client';
import { retryDelayMs } from '../platform/retry-backoff';
import { messageIds, type Dispatch } from '../engine/dispatch';
import type { CallbackOutcome, TaskRow } from '../model/task';
import type { CallbackRepository } from '../storage/callback-repository';
import { taskJson } from '../contract/task-json';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';
import { describeError } from '../platform/describe-error';

export interface WebhookDeliveryDeps {
  callbacks: CallbackRepository;
  dispatch: Pick<Dispatch, 'send'>;
  outbound: OutboundClient;
  /** The HMAC key; undefined when webhooks are not configured. */
  secret: () => Promise<string | undefined>;
  maxAttempts: number;
  retryBaseSeconds: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** How long one delivery may take, and how long its claim on the row lasts (longer, so it never runs out first). */
const DELIVERY_TIMEOUT_MS = 10_000;
const CLAIM_SECONDS = 60;

/**
 * Completion webhooks: when a task with a `callbackUrl` ends, its Task JSON is POSTed there, signed, through the
 * SSRF-safe outbound client. The row is the source of truth (its state turns `pending` in the same update that ends
 * the task); Service Bus messages carry each attempt, scheduled with backoff for retries; the sweeper re-sends any
 * that were lost.
 */
export class WebhookDelivery {
  constructor(private readonly deps: WebhookDeliveryDeps) {}

  /** Sends the first delivery of a task that just ended, if it has a callback. Best effort: the sweeper catches up. */
  async announce(task: TaskRow | undefined): Promise<void> {
    if (task?.callbackState !== 'pending') return;
    const attempt = task.callbackAttempts + 1;
    await this.send(task, attempt, messageIds.webhook(task.id, attempt)).catch((err: unknown) =>
      this.deps.log(
        'warn',
        `task ${task.id}: webhook message not sent, left to the sweeper: ${describeError(err)}`,
      ),
    );
  }

  /** Re-sends a delivery the sweeper found overdue, under a message id of its own. */
  resend(task: TaskRow): Promise<void> {
    const attempt = task.callbackAttempts + 1;
    return this.send(task, attempt, messageIds.webhookSweep(task.id, attempt, task.callbackDueAt));
  }

  /** Makes delivery `attempt`; a duplicate or stale message finds nothing to claim and does nothing. */
  async deliver(taskId: string, attempt: number): Promise<void> {
    const { callbacks, maxAttempts } = this.deps;
    const task = await callbacks.claim(taskId, attempt, CLAIM_SECONDS);
    if (!task?.callbackUrl) return;
    const failure = await this.post(task, task.callbackUrl, attempt);
    let outcome: CallbackOutcome;
    if (!failure) {
      outcome = { state: 'delivered' };
    } else if (failure.final || attempt >= maxAttempts) {
      outcome = { state: 'failed', error: `attempt ${attempt}: ${failure.message}` };
    } else {
      const dueAt = new Date(Date.now() + retryDelayMs(attempt + 1, this.deps.retryBaseSeconds));
      outcome = { state: 'pending', dueAt, error: `attempt ${attempt}: ${failure.message}` };
    }
    await callbacks.record(taskId, outcome);
    if (outcome.state === 'pending')
      await this.send(task, attempt + 1, messageIds.webhook(taskId, attempt + 1), outcome.dueAt);
    const level = outcome.state === 'delivered' ? 'info' : 'warn';
    this.deps.log(
      level,
      `task ${taskId}: webhook attempt ${attempt} ${outcome.state}${failure ? `: ${failure.message}` : ''}`,
    );
  }

  /** POSTs the task; returns why it failed (and whether retrying is pointless), or undefined on a 2xx answer. */
  private async post(
    task: TaskRow,
    url: string,
    attempt: number,
  ): Promise<{ message: string; final: boolean } | undefined> {
    const secret = await this.deps.secret();
    if (!secret) return { message: 'WEBHOOK_SIGNING_SECRET is not set', final: true };
    const body = JSON.stringify(taskJson(task));
    try {
      const res = await this.deps.outbound.request(url, {
        method: 'POST',
        body,
        maxRedirects: 0,
        timeoutMs: DELIVERY_TIMEOUT_MS,
        maxBytes: 1024 * 1024,
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(Date.now() / 1000)),
          'longhaul-event': `task.${task.status}`,
          // The same for every attempt, so a receiver can drop a repeat.
          'longhaul-delivery': task.id,
          'longhaul-attempt': String(attempt),
        },
      });
      if (res.status >= 200 && res.status < 300) return undefined;
      // 410 Gone: the receiver asks not to be called again. Redirects are not followed: they are failures.
      return { message: `answered ${res.status}`, final: res.status === 410 };
    } catch (err) {
      const message = describeError(err);
      return { message, final: err instanceof OutboundError && err.code === 'refused' };
    }
  }

  private send(task: TaskRow, attempt: number, messageId: string, scheduledAt?: Date): Promise<void> {
    return this.deps.dispatch.send(task, { taskId: task.id, webhook: attempt }, { messageId, scheduledAt });
  }
}
