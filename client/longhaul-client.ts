import type {
  BulkResult,
  DeadLetter,
  DeadLetterList,
  EventList,
  Health,
  Liveness,
  Problem,
  Signal,
  Task,
  TaskCounts,
  TaskList,
  TaskEvent,
  TaskStep,
  TaskStepList,
  TaskStatus,
  TaskType,
  Upload,
  Waiting,
} from '../functions/contract/api-schemas';
import { sseFrames } from './sse-frames';

/** A small typed client for the Longhaul HTTP API (design §2, §3), on the platform's fetch. */

// The API's types come from its contract, type-only: the client loads nothing of the server at run time.
export type {
  BulkResult,
  DeadLetter,
  Problem,
  Signal,
  Task,
  TaskCounts,
  TaskEvent,
  TaskStatus,
  TaskStep,
  TaskStepList,
  TaskType,
  Upload,
  Waiting,
};

/** Which tasks `list`, `counts` and the bulk actions cover (the caller's own; an admin's: any owner's). */
export interface TaskFilter {
  status?: TaskStatus;
  type?: string;
  /** The start of a task id, e.g. `3f2a`. */
  idPrefix?: string;
  /** ISO 8601, inclusive. */
  createdAfter?: string;
  /** ISO 8601, exclusive. */
  createdBefore?: string;
}

/** What `watch` yields: the snapshot, each event, and the end. */
export type WatchItem =
  | { kind: 'snapshot'; task: Task; /** the snapshot stands for every event up to this seq */ seq: number }
  | { kind: 'event'; event: TaskEvent }
  | { kind: 'end'; status: TaskStatus };

/** `GET /api/health/ready`: the HTTP status (200 or 503) and each dependency's state. */
export type Readiness = Health & { httpStatus: number };

/** A problem+json answer from the API. */
export class LonghaulError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = 'LonghaulError';
  }
}

/** The server could not be reached, or did not answer in time: no HTTP answer at all. */
export class LonghaulConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LonghaulConnectionError';
  }
}

export interface ClientOptions {
  /** e.g. `http://localhost:7071` */
  baseUrl: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /**
   * Deadline of each request, in ms: for the whole answer of a JSON request; for an event stream, until its headers
   * arrive (the stream itself then runs until it ends or the caller's signal fires). Default: none.
   */
  timeoutMs?: number;
}

export interface WatchOptions {
  signal?: AbortSignal;
  retryMs?: number;
  /**
   * Sent as `Last-Event-ID` on the first connection: the persisted events after it are replayed (`'0'`: the whole
   * history). Without it the first snapshot stands for everything before it.
   */
  lastEventId?: string;
  /** Told about each connection that failed or dropped before the end; watch() then reconnects. */
  onConnectionError?: (err: Error) => void;
}

export class LonghaulClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * `callbackUrl`: where Longhaul POSTs the task, signed, when it ends (verify with `verifyWebhookSignature`).
   * `maxDurationSeconds`: fail the task this long after it starts, waits included.
   */
  async submit(
    type: string,
    input: unknown,
    options: { idempotencyKey?: string; callbackUrl?: string; maxDurationSeconds?: number } = {},
  ): Promise<Task> {
    const { idempotencyKey, ...fields } = options;
    return this.json<Task>('POST', '/api/tasks', { type, input, ...fields }, jsonHeaders(idempotencyKey));
  }

  /**
   * Sends the task the signal `name` (an approval, a callback) with `payload`, which must pass the schema its type
   * declares; the first signal of each name counts, and a repeat (same key or payload) answers `duplicate: true`.
   */
  signal(
    id: string,
    name: string,
    payload: unknown,
    options: { idempotencyKey?: string } = {},
  ): Promise<Signal> {
    const path = `/api/tasks/${encodeURIComponent(id)}/signals/${encodeURIComponent(name)}`;
    return this.json<Signal>('POST', path, payload, jsonHeaders(options.idempotencyKey));
  }

  get(id: string): Promise<Task> {
    return this.json<Task>('GET', `/api/tasks/${encodeURIComponent(id)}`);
  }

  list(query: TaskFilter & { limit?: number; cursor?: string } = {}) {
    return this.json<TaskList>('GET', `/api/tasks?${searchParams(query)}`);
  }

  /** How many tasks the filter covers, in each status. */
  counts(filter: Omit<TaskFilter, 'status'> = {}): Promise<TaskCounts> {
    return this.json<TaskCounts>('GET', `/api/tasks/counts?${searchParams(filter)}`);
  }

  /** The input the task was accepted with (its type's defaults filled in). */
  input<T = unknown>(id: string): Promise<T> {
    return this.json<T>('GET', `/api/tasks/${encodeURIComponent(id)}/input`);
  }

  /** The task's named steps in the order they started, with status, attempts and timings. */
  async steps(id: string): Promise<TaskStep[]> {
    return (await this.json<TaskStepList>('GET', `/api/tasks/${encodeURIComponent(id)}/steps`)).items;
  }

  /** Retries a failed task from the step that failed. */
  retry(id: string): Promise<Task> {
    return this.json<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/retry`);
  }

  /** A new task with the same type and input, linked by `rerunOf`; once per Idempotency-Key. */
  rerun(id: string, options: { idempotencyKey?: string } = {}): Promise<Task> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    return this.json<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/rerun`, undefined, headers);
  }

  /** Cancels or retries up to `limit` of the tasks the filter covers; call again while `more`. */
  bulk(action: 'cancel' | 'retry', filter: TaskFilter, limit?: number): Promise<BulkResult> {
    return this.json<BulkResult>(
      'POST',
      `/api/tasks/bulk/${action}`,
      limit === undefined ? { filter } : { filter, limit },
      { 'content-type': 'application/json' },
    );
  }

  cancel(id: string): Promise<Task> {
    return this.json<Task>('DELETE', `/api/tasks/${encodeURIComponent(id)}`);
  }

  result<T = unknown>(id: string): Promise<T> {
    return this.json<T>('GET', `/api/tasks/${encodeURIComponent(id)}/result`);
  }

  /** The persisted history of a task, oldest first, after `after` (a seq). */
  events(id: string, query: { after?: number; limit?: number } = {}) {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    return this.json<EventList>('GET', `/api/tasks/${encodeURIComponent(id)}/events?${params}`);
  }

  taskTypes(): Promise<TaskType[]> {
    return this.json<TaskType[]>('GET', '/api/task-types');
  }

  /** Liveness: resolves while the app answers 200. */
  health(): Promise<Liveness> {
    return this.json<Liveness>('GET', '/api/health');
  }

  /** Readiness: a 503 (a dependency down) is an answer here, not an error. */
  async readiness(): Promise<Readiness> {
    const { response, payload } = await this.send('GET', this.url('/api/health/ready'));
    if (response.status !== 200 && response.status !== 503) throw this.failure(response, payload);
    return { ...(payload as Omit<Readiness, 'httpStatus'>), httpStatus: response.status };
  }

  /**
   * Uploads a file straight to Blob storage (`POST /api/uploads`, then a PUT to the write-only URL it gives) and
   * returns the blob name to pass in a task input, e.g. `{blob}` for `dataset`.
   */
  async upload(filename: string, contentType: string, content: string | Uint8Array): Promise<string> {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const upload = await this.json<Upload>(
      'POST',
      '/api/uploads',
      { filename, contentType, size: bytes.byteLength },
      { 'content-type': 'application/json' },
    );
    // The SAS URL carries its own authorization: the API's headers (an API key) must not go to storage.
    const { response, payload } = await this.send(upload.method, upload.uploadUrl, {
      headers: upload.headers,
      body: bytes,
      api: false,
    });
    if (!response.ok) {
      // Storage names the reason in a header (e.g. AuthorizationFailure); its XML body says little more.
      const code = response.headers.get('x-ms-error-code');
      const detail = code ?? (typeof payload === 'string' ? payload.slice(0, 200) : JSON.stringify(payload));
      throw new Error(`${upload.method} ${originOf(upload.uploadUrl)}: ${response.status} ${detail}`);
    }
    return upload.blob;
  }

  /** Admin role only: the oldest dead letters of the tasks queue, peeked. */
  async deadLetters(limit = 20): Promise<DeadLetter[]> {
    return (await this.json<DeadLetterList>('GET', `/api/admin/dead-letters?limit=${limit}`)).items;
  }

  /** Admin role only: removes one dead letter for good. */
  async removeDeadLetter(sequenceNumber: string): Promise<void> {
    await this.json<null>('DELETE', `/api/admin/dead-letters/${encodeURIComponent(sequenceNumber)}`);
  }

  /**
   * The task's events until it ends: the snapshot, then every event. When the server closes the stream (every
   * SSE_MAX_SECONDS) or the connection drops, it reconnects with Last-Event-ID, so no persisted event is lost or
   * repeated. An error answer (a problem) ends it with a LonghaulError.
   */
  async *watch(id: string, options: WatchOptions = {}): AsyncGenerator<WatchItem> {
    let lastEventId = options.lastEventId;
    let retryMs = options.retryMs ?? 2_000;
    const url = this.url(`/api/tasks/${encodeURIComponent(id)}/events`);
    const dropped = (err: unknown) =>
      options.onConnectionError?.(err instanceof Error ? err : new Error(String(err)));
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      let response: Response;
      try {
        response = await this.open(url, headers, options.signal);
      } catch (err) {
        if (options.signal?.aborted) return;
        dropped(err);
        await delay(retryMs);
        continue;
      }
      if (!response.ok) throw this.failure(response, await readPayload(response));
      try {
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
      } catch (err) {
        // A connection cut mid-stream (a proxy's idle limit, a reset) is a reconnect like a close, not the end.
        if (options.signal?.aborted) return;
        if (err instanceof SyntaxError) throw err;
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        dropped(new LonghaulConnectionError(`the stream of task ${id} broke off: ${cause}`, { cause: err }));
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
    const { response, payload } = await this.send(method, this.url(path), {
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw this.failure(response, payload);
    return payload as T;
  }

  /** One request and its whole answer (JSON parsed, else text, null when empty), within `timeoutMs`. */
  private async send(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array; api?: boolean } = {},
  ): Promise<{ response: Response; payload: unknown }> {
    const timeoutMs = this.options.timeoutMs;
    try {
      const response = await this.fetch(url, {
        method,
        headers: init.api === false ? init.headers : { ...this.options.headers, ...init.headers },
        body: init.body,
        signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
      });
      return { response, payload: await readPayload(response) };
    } catch (err) {
      throw describeFetchError(err, method, url, timeoutMs);
    }
  }

  /** Opens an event stream: the deadline covers the answer's headers, not the stream that follows. */
  private async open(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const timeoutMs = this.options.timeoutMs;
    const deadline = new AbortController();
    const timer = timeoutMs
      ? setTimeout(() => deadline.abort(new DOMException('timed out', 'TimeoutError')), timeoutMs)
      : undefined;
    try {
      return await this.fetch(url, {
        headers: { ...this.options.headers, ...headers },
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
      });
    } catch (err) {
      throw signal?.aborted ? err : describeFetchError(err, 'GET', url, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An error answer: a LonghaulError for a problem, else what came back (e.g. a proxy's HTML page). */
  private failure(response: Response, payload: unknown): Error {
    if (isProblem(payload)) return new LonghaulError(payload);
    const text = typeof payload === 'string' ? payload.replace(/\s+/g, ' ').trim().slice(0, 200) : '';
    return new LonghaulError({
      type: 'about:blank',
      title: response.statusText || 'Error',
      status: response.status,
      detail: `${response.url || 'the server'} answered ${response.status} without a problem body${text ? `: ${text}` : ''}`,
    });
  }
}

/** A query string of the fields that are set. */
function searchParams(query: object): URLSearchParams {
  return new URLSearchParams(
    Object.entries(query as Record<string, string | number | undefined>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)]),
  );
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readPayload(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isProblem(payload: unknown): payload is Problem {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as Problem).status === 'number' &&
    typeof (payload as Problem).title === 'string'
  );
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the upload URL';
  }
}

/**
 * What went wrong with a request that got no answer, in one line: `cannot reach https://host: ECONNREFUSED`, or
 * `GET https://host/api/x: no answer within 15 s`. fetch alone says only "fetch failed".
 */
export function describeFetchError(
  err: unknown,
  method: string,
  url: string,
  timeoutMs?: number,
): LonghaulConnectionError {
  if (err instanceof LonghaulConnectionError) return err;
  const name = (err as { name?: string } | null)?.name;
  if (name === 'TimeoutError') {
    const seconds = timeoutMs === undefined ? '' : ` within ${Math.round(timeoutMs / 100) / 10} s`;
    return new LonghaulConnectionError(`${method} ${withoutQuery(url)}: no answer${seconds}`, { cause: err });
  }
  if (name === 'AbortError')
    return new LonghaulConnectionError(`${method} ${withoutQuery(url)}: aborted`, { cause: err });
  const cause = (err as { cause?: unknown } | null)?.cause as
    { code?: string; message?: string; errors?: Array<{ code?: string }> } | undefined;
  const reason =
    cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? cause?.message ?? (err as Error)?.message;
  return new LonghaulConnectionError(`cannot reach ${originOf(url)}: ${reason ?? String(err)}`, {
    cause: err,
  });
}

/** A URL for messages: an upload URL's query is a SAS token, which must not end up in logs. */
function withoutQuery(url: string): string {
  return url.split('?')[0];
}

/** A JSON body's headers, with an Idempotency-Key when given. */
function jsonHeaders(idempotencyKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return headers;
}
