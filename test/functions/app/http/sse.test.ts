import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sseResponse } from '../../../../functions/app/http/sse';
import type { StreamSink } from '../../../../functions/events/event-stream-base';

/** An SSE response whose source hands its sink out, so the test writes events as a task stream would. */
function openResponse(): { sink: Promise<StreamSink>; reader: ReadableStreamDefaultReader<Uint8Array> } {
  let give: (sink: StreamSink) => void = () => undefined;
  const sink = new Promise<StreamSink>((resolve) => (give = resolve));
  const response = sseResponse((s) => ({ start: async () => give(s), stop: () => undefined }), {
    error: (message) => assert.fail(message),
    warn: (message) => assert.fail(message),
  });
  return { sink, reader: response.body.getReader() };
}

const text = (chunk: Uint8Array | undefined) => Buffer.from(chunk ?? []).toString();

describe('sseResponse', () => {
  it('sends the frames of one turn as one chunk, and streams given the same events in a turn share that chunk', async () => {
    const streams = [openResponse(), openResponse(), openResponse()];
    // Reading starts each body, which builds its source.
    const firsts = streams.map((s) => s.reader.read());
    const sinks = await Promise.all(streams.map((s) => s.sink));
    const events = [1, 2, 3].map((seq) => ({ seq, type: 'progress', percent: seq * 10 }));
    for (const sink of sinks.slice(0, 2)) for (const e of events) sink.event('progress', e, e.seq);
    sinks[2].event('progress', events[0], 1);
    sinks[2].event('log', { message: 'other' });

    const chunks = await Promise.all(firsts.map(async (first) => (await first).value));
    const expected = events
      .map((e) => `event: progress\nid: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`)
      .join('');
    assert.equal(text(chunks[0]), expected);
    assert.equal(chunks[1], chunks[0], 'the second stream reads the very chunk the first one does');
    assert.equal(
      text(chunks[2]),
      `event: progress\nid: 1\ndata: ${JSON.stringify(events[0])}\n\nevent: log\ndata: {"message":"other"}\n\n`,
      'a stream with other frames gets its own chunk',
    );

    sinks[0].event('progress', events[2], 4);
    assert.equal(
      text((await streams[0].reader.read()).value),
      `event: progress\nid: 4\ndata: ${JSON.stringify(events[2])}\n\n`,
    );
    for (const sink of sinks) sink.close();
    for (const s of streams) {
      for (;;) if ((await s.reader.read()).done) break;
    }
  });
});
