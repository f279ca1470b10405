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
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        messages.push(parseFrame(frame));
      }
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

function parseFrame(frame: string): SseMessage {
  if (frame.startsWith(':')) return { event: 'comment', data: frame.slice(1).trim() };
  if (frame.startsWith('retry:')) return { event: 'retry', data: frame.slice(6).trim() };
  const message: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    const colon = line.indexOf(':');
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') message.event = value;
    else if (field === 'id') message.id = value;
    else if (field === 'data') data.push(value);
  }
  message.data = data.join('\n');
  return message;
}
