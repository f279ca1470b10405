import { sseFrames, type SseFrame } from '../../client/sse-frames';

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

export interface SseRead {
  status: number;
  headers: Headers;
  /** Frames in arrival order; `retry:` lines and comments are kept as `{event: 'retry' | 'comment'}`. */
  messages: SseMessage[];
  /** True when the server closed the stream by itself. */
  closedByServer: boolean;
}

/**
 * Reads an SSE response over raw HTTP, frame by frame, until `until` says stop, the server closes, or `timeoutMs`
 * passes (then the client aborts).
 */
export async function readSse(
  url: string,
  options: {
    headers?: Record<string, string>;
    until?: (m: SseMessage[]) => boolean;
    timeoutMs?: number;
    /** Sees each message as it arrives. */
    onMessage?: (m: SseMessage) => void;
  } = {},
): Promise<SseRead> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 15_000);
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...options.headers },
    signal: abort.signal,
  });
  const messages: SseMessage[] = [];
  let closedByServer = false;
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    clearTimeout(timer);
    return { status: res.status, headers: res.headers, messages, closedByServer: true };
  }
  try {
    for await (const frame of sseFrames(res.body)) {
      messages.push(asMessage(frame));
      options.onMessage?.(messages[messages.length - 1]);
      if (options.until?.(messages)) {
        abort.abort();
        break;
      }
    }
    closedByServer = !abort.signal.aborted;
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return { status: res.status, headers: res.headers, messages, closedByServer };
}

/**
 * readSse, and the moment its `snapshot` arrived: a stream subscribes to live events before it writes its snapshot, so
 * whatever happens after that reaches it live. Waiting for it beats waiting a fixed time on a loaded machine.
 */
export function readSseFromSnapshot(
  url: string,
  options: Omit<Parameters<typeof readSse>[1] & object, 'onMessage'> = {},
): { snapshot: Promise<void>; read: Promise<SseRead> } {
  let seen: () => void = () => undefined;
  const snapshot = new Promise<void>((resolve) => (seen = resolve));
  const read = readSse(url, { ...options, onMessage: (m) => m.event === 'snapshot' && seen() });
  // A stream that ends (or fails) before its snapshot releases the waiter too: the test then fails on what it read.
  void read.then(seen, seen);
  return { snapshot, read };
}

/** `retry:` and comment frames are kept as pseudo-messages, so tests can assert the whole wire order. */
function asMessage(frame: SseFrame): SseMessage {
  if (frame.retry !== undefined) return { event: 'retry', data: String(frame.retry) };
  if (frame.event === undefined) return { event: 'comment', data: frame.comment ?? '' };
  return frame.id === undefined
    ? { event: frame.event, data: frame.data }
    : { event: frame.event, id: frame.id, data: frame.data };
}
