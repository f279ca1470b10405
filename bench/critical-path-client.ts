import { sseFrames } from '../client/sse-frames';
import { NO_OP_TASK } from './longhaul-driver';

export interface CriticalPathClientOptions {
  apiUrl: string;
  warmupTasks: number;
  tasks: number;
}

/**
 * Where one no-op task's time went, in ms from the moment its POST was sent: the 202, then the task's own events
 * (`running`, the progress its step reported, the terminal status, each stamped `at` where it was written), then the
 * `end` frame reaching this client. One clock: every process runs on this machine.
 */
export interface TaskMilestones {
  accepted: number;
  running: number;
  stepped: number;
  ended: number;
  seen: number;
}

type Milestone = { at: string; status?: string };

/** Far beyond a healthy no-op task, even under the latency model: a lost task fails the phase, naming itself. */
const TASK_TIMEOUT_MS = 30_000;

async function runOne(apiUrl: string): Promise<TaskMilestones> {
  const sent = Date.now();
  const res = await fetch(`${apiUrl}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: NO_OP_TASK,
  });
  if (res.status !== 202) throw new Error(`POST /api/tasks answered ${res.status}: ${await res.text()}`);
  const accepted = Date.now() - sent;
  const { id } = (await res.json()) as { id: string };
  // From seq 0: every event, whether it was written before the stream opened or after.
  const stream = await fetch(`${apiUrl}/api/tasks/${id}/events`, {
    headers: { accept: 'text/event-stream', 'last-event-id': '0' },
    signal: AbortSignal.timeout(TASK_TIMEOUT_MS),
  });
  const at: Partial<Record<'running' | 'stepped' | 'ended', number>> = {};
  const note = (type: string, event: Milestone) => {
    const since = Date.parse(event.at) - sent;
    if (type === 'status' && event.status === 'running') at.running = since;
    else if (type === 'progress') at.stepped = Math.max(at.stepped ?? since, since);
    else if (type === 'status' && event.status === 'succeeded') at.ended = since;
  };
  const frames: string[] = [];
  try {
    for await (const frame of sseFrames(stream.body)) {
      frames.push(`${frame.event}:${frame.data.slice(0, 80)}`);
      if (frame.event === 'end') {
        const seen = Date.now() - sent;
        if (at.running === undefined || at.stepped === undefined || at.ended === undefined)
          throw new Error(`task ${id} ended without its running, progress and terminal events`);
        return { accepted, running: at.running, stepped: at.stepped, ended: at.ended, seen };
      }
      if (frame.event === 'status' || frame.event === 'progress')
        note(frame.event, JSON.parse(frame.data) as Milestone);
    }
  } catch (err) {
    throw new Error(`task ${id}: ${String(err)} after frames ${frames.join(' | ')}`);
  }
  throw new Error(`the stream of task ${id} closed without an end event`);
}

/** Options as JSON in argv[2]; runs the tasks one after the other and prints each one's milestones as JSON. */
async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as CriticalPathClientOptions;
  for (let i = 0; i < o.warmupTasks; i++) await runOne(o.apiUrl);
  const milestones: TaskMilestones[] = [];
  for (let i = 0; i < o.tasks; i++) milestones.push(await runOne(o.apiUrl));
  console.log(JSON.stringify(milestones));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
