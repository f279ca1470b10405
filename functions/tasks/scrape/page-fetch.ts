import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import {
  OutboundError,
  type OutboundClient,
  type OutboundErrorCode,
  type OutboundResponse,
} from '../../outbound/outbound-client';
import { HttpStatusError, type HostResilience } from './host-resilience';
import { describeError } from '../../platform/describe-error';

export type PageErrorCode = OutboundErrorCode | 'network' | 'circuit_open' | 'http_status';

export interface PageError {
  code: PageErrorCode;
  message: string;
}

/** A response (of any status, once retries are spent), or why there was none. */
export type FetchOutcome = ({ response: OutboundResponse } | { error: PageError }) & {
  attempts: number;
  elapsedMs: number;
};

export interface PageFetcherOptions {
  outbound: OutboundClient;
  resilience: HostResilience;
  /** Time for one attempt, redirects included. */
  timeoutMs: number;
  /** Least time between two requests to the same host. */
  politenessMs: number;
  /** Only these hosts may be reached (on every redirect hop too). */
  allowHosts?: readonly string[];
}

export interface FetchOptions {
  maxBytes: number;
  /** Media types accepted for 2xx answers; others fail unread. */
  contentTypes?: readonly string[];
  /** The host's own spacing (robots.txt Crawl-delay), when longer than politenessMs. */
  delayMs?: number;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 5;

/**
 * GETs for the crawler: through the SSRF-safe outbound client, under the host's resilience policies, spaced per host.
 * Every failure becomes an outcome to record, except the task's own abort (cancellation, end of slice), which is
 * thrown so the step is not checkpointed.
 */
export class PageFetcher {
  /** When each host's last request ended (this slice's; a new slice starts without waiting). */
  private readonly lastRequestAt = new Map<string, number>();

  constructor(private readonly options: PageFetcherOptions) {}

  async fetch(target: string, request: FetchOptions): Promise<FetchOutcome> {
    const url = new URL(target);
    await this.politeness(url.host, request);
    const started = performance.now();
    let attempts = 0;
    const outcome = (result: { response: OutboundResponse } | { error: PageError }): FetchOutcome => ({
      ...result,
      attempts,
      elapsedMs: Math.round(performance.now() - started),
    });
    try {
      const response = await this.options.resilience.execute(
        url,
        async (signal) => {
          attempts++;
          const res = await this.options.outbound.request(url, {
            signal,
            timeoutMs: this.options.timeoutMs,
            maxBytes: request.maxBytes,
            maxRedirects: MAX_REDIRECTS,
            contentTypes: request.contentTypes,
            allowHosts: this.options.allowHosts,
          });
          if (res.status === 429 || res.status >= 500) throw new HttpStatusError(res);
          return res;
        },
        request.signal,
      );
      return outcome({ response });
    } catch (err) {
      if (request.signal.aborted) throw err;
      if (err instanceof HttpStatusError) return outcome({ response: err.response });
      return outcome({ error: this.pageError(err, url) });
    } finally {
      this.lastRequestAt.set(url.host, Date.now());
    }
  }

  private async politeness(host: string, request: FetchOptions): Promise<void> {
    const spacing = Math.max(this.options.politenessMs, request.delayMs ?? 0);
    const last = this.lastRequestAt.get(host);
    const wait = last === undefined ? 0 : last + spacing - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal: request.signal });
  }

  private pageError(err: unknown, url: URL): PageError {
    if (err instanceof OutboundError) {
      // A refusal after a redirect names the hop; say which page led there.
      const message = err.url === url.href ? err.message : `${url.href} redirected: ${err.message}`;
      return { code: err.code, message };
    }
    if (err instanceof BrokenCircuitError) {
      return {
        code: 'circuit_open',
        message: `${url.href} not requested: the circuit for ${url.host} is open after repeated failures`,
      };
    }
    if (err instanceof TaskCancelledError) {
      return { code: 'timeout', message: `${url.href} did not answer within ${this.options.timeoutMs} ms` };
    }
    return { code: 'network', message: `${url.href}: ${describeError(err)}` };
  }
}
