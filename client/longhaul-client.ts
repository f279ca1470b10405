import { sseFrames } from './sse-frames';

/** A small typed client for the Longhaul HTTP API (design §2, §3), on the platform's fetch. */

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Task {
  id: string;
  type: string;
  status: TaskStatus;
  progress: {
    percent: number | null;
    current: number | null;
    total: number | null;
    message: string | null;
    step: string | null;
  } | null;
  attempts: number;
  cancelRequested: boolean;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
  links: { self: string; events: string; result: string; cancel: string };
  /** The completion webhook, when the task was submitted with a callbackUrl. */
  callback: {
    url: string;
    status: 'waiting' | 'pending' | 'delivered' | 'failed';
    attempts: number;
    lastError: string | null;
  } | null;
}

export interface TaskEvent {
  seq: number;
  taskId: string;
  type: 'status' | 'progress' | 'log';
  at: string;
  [field: string]: unknown;
}

/** What `watch` yields: the snapshot, each event, and the end. */
export type WatchItem =
  | { kind: 'snapshot'; task: Task; /** the snapshot stands for every event up to this seq */ seq: number }
  | { kind: 'event'; event: TaskEvent }
  | { kind: 'end'; status: TaskStatus };

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  errors?: Array<{ path: string; message: string }>;
}

/** A problem+json answer from the API. */
export class LonghaulError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = 'LonghaulError';
  }
}

export interface ClientOptions {
  /** e.g. `http://localhost:7071` */
  baseUrl: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export class LonghaulClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** `callbackUrl`: where Longhaul POSTs the task, signed, when it ends (verify with `verifyWebhookSignature`). */
  async submit(
    type: string,
    input: unknown,
    options: { idempotencyKey?: string; callbackUrl?: string } = {},
  ): Promise<Task> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    const body = options.callbackUrl ? { type, input, callbackUrl: options.callbackUrl } : { type, input };
    return this.json<Task>('POST', '/api/tasks', body, headers);
  }

  get(id: string): Promise<Task> {
    return this.json<Task>('GET', `/api/tasks/${encodeURIComponent(id)}`);
  }

  list(query: { status?: TaskStatus; type?: string; limit?: number; cursor?: string } = {}) {
    const params = new URLSearchParams(
      Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    );
    return this.json<{ items: Task[]; nextCursor: string | null }>('GET', `/api/tasks?${params}`);
  }

  cancel(id: string): Promise<Task> {
    return this.json<Task>('DELETE', `/api/tasks/${encodeURIComponent(id)}`);
  }

  result<T = unknown>(id: string): Promise<T> {
    return this.json<T>('GET', `/api/tasks/${encodeURIComponent(id)}/result`);
  }

  /**
   * The task's events until it ends: the snapshot, then every event. When the server closes the stream (every
   * SSE_MAX_SECONDS) or the connection drops, it reconnects with Last-Event-ID, so no persisted event is lost or
   * repeated.
   */
  async *watch(
    id: string,
    options: { signal?: AbortSignal; retryMs?: number } = {},
  ): AsyncGenerator<WatchItem> {
    let lastEventId: string | undefined;
    let retryMs = options.retryMs ?? 2_000;
    for (;;) {
      const headers: Record<string, string> = { ...this.options.headers, accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      let response: Response;
      try {
        response = await this.fetch(this.url(`/api/tasks/${encodeURIComponent(id)}/events`), {
          headers,
          signal: options.signal,
        });
      } catch {
        if (options.signal?.aborted) return;
        await delay(retryMs);
        continue;
      }
      if (!response.ok) throw new LonghaulError((await response.json()) as Problem);
      for await (const frame of sseFrames(response.body)) {
        if (frame.retry !== undefined) retryMs = frame.retry;
        if (frame.event === undefined) continue;
        if (frame.id !== undefined) lastEventId = frame.id;
        const data = JSON.parse(frame.data) as unknown;
        if (frame.event === 'snapshot')
          yield { kind: 'snapshot', task: data as Task, seq: Number(frame.id ?? 0) };
        else if (frame.event === 'end') {
          yield { kind: 'end', status: (data as { status: TaskStatus }).status };
          return;
        } else yield { kind: 'event', event: data as TaskEvent };
      }
      if (options.signal?.aborted) return;
      await delay(retryMs);
    }
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private async json<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const response = await this.fetch(this.url(path), {
      method,
      headers: { ...this.options.headers, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = (await response.json()) as unknown;
    if (!response.ok) throw new LonghaulError(payload as Problem);
    return payload as T;
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
