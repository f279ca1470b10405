/** Server-Sent Events framing (WHATWG HTML §9.2). */
export function sseEvent(event: string, data: unknown, id?: number): string {
  const lines = [`event: ${event}`];
  if (id !== undefined) lines.push(`id: ${id}`);
  for (const line of JSON.stringify(data).split('\n')) lines.push(`data: ${line}`);
  return `${lines.join('\n')}\n\n`;
}

export const sseComment = (text: string): string => `: ${text}\n\n`;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/** Whether the client asked for an event stream rather than JSON. */
export function wantsEventStream(accept: string | null): boolean {
  return (accept ?? '').toLowerCase().includes('text/event-stream');
}
