import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links that deliver one signal to one task without an API key (ctx.signalUrl): the token is an HMAC-SHA256 of the
 * task id and signal name, keyed with STREAM_TOKEN_SECRET (the app's token key, domain-separated by a prefix), so it
 * is the same on every replay and opens nothing else. It is single-use because a task keeps only the first signal of
 * each name; it stops working when the task ends.
 */
export class SignalLinks {
  constructor(
    private readonly secret: () => Promise<string | undefined>,
    private readonly baseUrl: string | undefined,
  ) {}

  /** The signal's URL, with `?token=` when there is a key to sign with (AUTH_MODE=none has none and needs none). */
  async url(taskId: string, name: string): Promise<string> {
    const path = `/api/tasks/${taskId}/signals/${encodeURIComponent(name)}`;
    const secret = await this.secret();
    const query = secret ? `?token=${sign(secret, taskId, name)}` : '';
    return `${this.baseUrl ?? ''}${path}${query}`;
  }

  /** Whether `token` is the link token of this task's signal `name`. */
  async verify(taskId: string, name: string, token: string): Promise<boolean> {
    const secret = await this.secret();
    if (!secret) return false;
    const expected = Buffer.from(sign(secret, taskId, name), 'base64url');
    const given = Buffer.from(token, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function sign(secret: string, taskId: string, name: string): string {
  return createHmac('sha256', secret).update(`longhaul-signal\n${taskId}\n${name}`).digest('base64url');
}
