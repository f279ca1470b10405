/** One Server-Sent Events frame (WHATWG HTML §9.2); `event` is unset for a frame of only comments or `retry`. */
export interface SseFrame {
  event?: string;
  id?: string;
  data: string;
  retry?: number;
  comment?: string;
}

/** The SSE frames of a response body, as they arrive. */
export async function* sseFrames(body: ReadableStream<Uint8Array> | null): AsyncGenerator<SseFrame> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      yield parseFrame(raw);
    }
  }
}

function parseFrame(raw: string): SseFrame {
  const frame: SseFrame = { data: '' };
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) {
      frame.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') frame.event = value;
    else if (field === 'id') frame.id = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value);
  }
  frame.data = data.join('\n');
  if (frame.event === undefined && data.length > 0) frame.event = 'message';
  return frame;
}
