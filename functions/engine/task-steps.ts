import type { TaskRow } from '../model/task';
import type { CheckpointStore, StepRecords } from '../storage/checkpoint-store';
import type { EventRepository, StepFailures } from '../storage/event-repository';
import type { TaskRepository } from '../storage/task-repository';

export type StepStatus = 'succeeded' | 'running' | 'failed';

/** One named step of a task, as the steps view shows it. */
export interface StepView {
  name: string;
  status: StepStatus;
  /** Attempts that ran the step's body: the failed ones, plus the one that succeeded or is running. */
  attempts: number;
  /** The slice it completed in (succeeded) or is running in; null for a failed step or an old checkpoint row. */
  slice: number | null;
  startedAt: Date | null;
  /** Null while running. */
  finishedAt: Date | null;
  /** Until now, while running. */
  durationMs: number | null;
  /** Size of its stored result JSON; null unless succeeded. */
  storedBytes: number | null;
}

export interface TaskStepsDeps {
  repository: TaskRepository;
  checkpoints: Pick<CheckpointStore, 'stepRecords'>;
  taskEvents: Pick<EventRepository, 'stepFailures'>;
}

/** A task's steps, from its checkpoints (completed and in flight) and its history (failed attempts). */
export class TaskSteps {
  constructor(private readonly deps: TaskStepsDeps) {}

  /** Undefined when the caller cannot see the task (`owner` undefined: any owner's, for admins). */
  async of(owner: string | undefined, id: string): Promise<{ task: TaskRow; steps: StepView[] } | undefined> {
    const task = await this.deps.repository.find(id, owner);
    if (!task) return undefined;
    const [records, failures] = await Promise.all([
      this.deps.checkpoints.stepRecords(id),
      this.deps.taskEvents.stepFailures(id),
    ]);
    return { task, steps: stepViews(task, records, failures, new Date()) };
  }
}

/**
 * Merges the three sources, in the order the steps started. A step the checkpoints hold succeeded; the step in flight
 * at the last heartbeat is running while its task runs under a live lease; any other step that failed is failed (a
 * retry runs it again). A run cut short by a crash left no record, so `attempts` does not count it.
 */
export function stepViews(
  task: TaskRow,
  records: StepRecords,
  failures: readonly StepFailures[],
  now: Date,
): StepView[] {
  const failed = new Map(failures.map((f) => [f.name, f]));
  const failuresOf = (name: string) => failed.get(name)?.failures ?? 0;
  const span = (startedAt: Date | null, finishedAt: Date | null) =>
    startedAt ? (finishedAt ?? now).getTime() - startedAt.getTime() : null;
  const views: StepView[] = records.completed.map((step) => ({
    name: step.name,
    status: 'succeeded',
    attempts: failuresOf(step.name) + 1,
    slice: step.slice,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    durationMs: span(step.startedAt, step.finishedAt),
    storedBytes: step.bytes,
  }));
  const done = new Set(views.map((v) => v.name));
  const inFlight = records.inFlight;
  const running =
    inFlight && inFlight.leaseLive && task.status === 'running' && !done.has(inFlight.name)
      ? inFlight
      : undefined;
  if (running) {
    views.push({
      name: running.name,
      status: 'running',
      attempts: failuresOf(running.name) + 1,
      slice: running.slice,
      startedAt: running.startedAt,
      finishedAt: null,
      durationMs: span(running.startedAt, null),
      storedBytes: null,
    });
  }
  for (const failure of failures) {
    if (done.has(failure.name) || failure.name === running?.name) continue;
    views.push({
      name: failure.name,
      status: 'failed',
      attempts: failure.failures,
      slice: null,
      startedAt: failure.lastStartedAt,
      finishedAt: failure.lastFailedAt,
      durationMs: span(failure.lastStartedAt, failure.lastFailedAt),
      storedBytes: null,
    });
  }
  const order = (v: StepView) => (v.startedAt ?? v.finishedAt ?? now).getTime();
  return views.sort((a, b) => order(a) - order(b));
}
