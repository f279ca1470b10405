import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyHolder, Role } from './api-keys';

/** What a stream token opens: one task's stream, or the caller's multiplexed stream (GET /api/events). */
export type StreamScope = { taskId: string } | { taskId?: undefined };

export interface StreamGrant extends KeyHolder {
  scope: StreamScope;
  expiresAt: Date;
}

/** Long enough to open (and, with a fresh token, reopen) a stream; short enough that a leaked URL soon expires. */
export const STREAM_TOKEN_TTL_MS = 5 * 60_000;

interface Claims {
  o: string;
  r: Role;
  /** A task id, or `*` for the caller's multiplexed stream. */
  s: string;
  /** Expiry, epoch milliseconds. */
  e: number;
}

/**
 * Short-lived bearer tokens for the two SSE URLs, where browsers' EventSource cannot send an Authorization header:
 * `<claims>.<HMAC-SHA256 of claims>`, both base64url, keyed with STREAM_TOKEN_SECRET.
 */
export class StreamTokens {
  constructor(private readonly secret: () => Promise<string | undefined>) {}

  async issue(
    holder: KeyHolder,
    scope: StreamScope,
    now = Date.now(),
  ): Promise<{ token: string; expiresAt: Date }> {
    const claims: Claims = {
      o: holder.owner,
      r: holder.role,
      s: scope.taskId ?? '*',
      e: now + STREAM_TOKEN_TTL_MS,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${body}.${await this.sign(body)}`, expiresAt: new Date(claims.e) };
  }

  /** The grant of a genuine, unexpired token; undefined for anything else. */
  async verify(token: string, now = Date.now()): Promise<StreamGrant | undefined> {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(await this.sign(body), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    if (!(claims.e > now)) return undefined;
    return {
      owner: claims.o,
      role: claims.r,
      scope: claims.s === '*' ? {} : { taskId: claims.s },
      expiresAt: new Date(claims.e),
    };
  }

  private async sign(body: string): Promise<string> {
    const secret = await this.secret();
    if (!secret) throw new Error('Setting STREAM_TOKEN_SECRET: required to sign stream tokens');
    return createHmac('sha256', secret).update(body).digest('base64url');
  }
}
