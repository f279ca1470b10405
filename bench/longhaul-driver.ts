import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sseFrames } from '../client/sse-frames';
import { isFinished } from '../functions/model/task';
import type { EndToEndDriver } from './end-to-end-client';

/** The cheapest real task: one checkpointed step that does nothing, and its progress report. */
export const NO_OP_TASK = JSON.stringify({ type: 'simulate', input: { steps: 1, stepMs: 0 } });

/** Submits answered 503 and sent again, as the API asks (docs/api.md): a figure of the run, printed on stderr. */
let retriedSubmits = 0;
process.once('exit', () => {
  if (retriedSubmits > 0)
    console.error(`longhaul driver: ${retriedSubmits} submit(s) answered 503 and retried`);
});

/**
 * POST /api/tasks as a well-behaved client does: with an Idempotency-Key, and on a 503 (a dependency slower than
 * SUBMIT_DEPENDENCY_TIMEOUT_MS on a saturated machine) again after its Retry-After, under the same key.
 */
export async function submitOverHttp(apiUrl: string, body = NO_OP_TASK): Promise<string> {
  const idempotencyKey = randomUUID();
  for (;;) {
    const res = await fetch(`${apiUrl}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body,
    });
    if (res.status === 503) {
      retriedSubmits++;
      await res.body?.cancel();
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      continue;
    }
    if (res.status !== 202 && res.status !== 200)
      throw new Error(`POST /api/tasks answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }
}

/** Reads one task's stream (snapshot, replay, live) to its `end`, which must say the task succeeded. */
async function watchToEnd(apiUrl: string, id: string): Promise<void> {
  const res = await fetch(`${apiUrl}/api/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
  for await (const frame of sseFrames(res.body)) {
    if (frame.event !== 'end') continue;
    const { status } = JSON.parse(frame.data) as { status: string };
    if (status !== 'succeeded') throw new Error(`task ${id} ended ${status}`);
    return;
  }
  throw new Error(`the stream of task ${id} closed without an end event`);
}

/**
 * The caller's multiplexed stream (`GET /api/events`), Longhaul's counterpart of BullMQ's QueueEvents: one connection
 * that sees every task of the caller finish, so a burst of a thousand tasks needs no thousand streams.
 */
async function openCallerStream(apiUrl: string) {
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  const finished = new Map<string, string>();
  const abort = new AbortController();
  const settle = (taskId: string, status: string) => {
    const waiter = waiting.get(taskId);
    if (!waiter) return void finished.set(taskId, status);
    waiting.delete(taskId);
    if (status === 'succeeded') waiter.resolve();
    else waiter.reject(new Error(`task ${taskId} ended ${status}`));
  };
  /** Opens the stream and reads up to its snapshot: from then on no event of the caller's is missed. */
  const connect = async () => {
    const res = await fetch(`${apiUrl}/api/events`, {
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    const frames = sseFrames(res.body);
    for (;;) {
      const { value, done } = await frames.next();
      if (done) throw new Error('the caller stream closed before its snapshot');
      if (value.event === 'snapshot') return frames;
    }
  };
  /** After a reconnect, tasks that finished while no stream was open are read one by one. */
  const catchUp = async () => {
    for (const taskId of [...waiting.keys()]) {
      const { status } = (await (await fetch(`${apiUrl}/api/tasks/${taskId}`)).json()) as { status: string };
      if (isFinished(status)) settle(taskId, status);
    }
  };
  let frames = await connect();
  const reading = (async () => {
    for (;;) {
      for await (const frame of frames) {
        if (frame.event !== 'status') continue;
        const event = JSON.parse(frame.data) as { taskId: string; status: string };
        if (isFinished(event.status)) settle(event.taskId, event.status);
      }
      // The server closes a stream after SSE_MAX_SECONDS, which a long burst on a busy machine can outlast.
      frames = await connect();
      await catchUp();
    }
  })().catch(() => undefined);
  return {
    /** Resolves when the task's terminal status has come through the stream, even before this call. */
    ended(taskId: string): Promise<void> {
      const ended = new Promise<void>((resolve, reject) => waiting.set(taskId, { resolve, reject }));
      const status = finished.get(taskId);
      if (status !== undefined) {
        finished.delete(taskId);
        settle(taskId, status);
      }
      return ended;
    },
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

/**
 * Longhaul as a user drives it: POST /api/tasks, then the task's SSE stream to `end` (one task at a time), or the
 * caller's stream for many tasks at once.
 */
export function longhaulDriver(apiUrl: string): EndToEndDriver {
  // Opened at the first burst, not before: a stream lasts at most SSE_MAX_SECONDS.
  let callerStream: ReturnType<typeof openCallerStream> | undefined;
  return {
    roundTrip: async () => watchToEnd(apiUrl, await submitOverHttp(apiUrl)),
    submit: async () => {
      callerStream ??= openCallerStream(apiUrl);
      const stream = await callerStream;
      return { ended: stream.ended(await submitOverHttp(apiUrl)) };
    },
    close: async () => {
      if (callerStream) await (await callerStream).close();
    },
  };
}
